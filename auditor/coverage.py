"""What the audit could not check, grouped by reason, with what would resolve each group.

Silent is not clean: every write site and idiom that no rule could judge is counted here with
its reason, and the terminal summary, the report and the JSON show the groups, their counts,
the first places and the remedy, so a user can turn "unchecked" into "checked".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from auditor.model import Location
from auditor.sites import SiteStatus

PLACES_SHOWN = 3  # places named per group


@dataclass(frozen=True)
class Remedy:
    """A kind of reason, recognised by its text, and what would resolve it."""

    pattern: re.Pattern[str]
    remedy: str


# First match wins; the last one matches anything.
REMEDIES = (
    Remedy(re.compile(r"is a function parameter"),
           "the SQL comes from a parameter of the function around it, and no call of that function was followed: "
           "call it with constant arguments from the project, or declare it a sink "
           "([[tool.upsert-audit.sinks]] with call = \"<function>\" and sql-argument = <position>)"),
    Remedy(re.compile(r"is not in the schema|not among the project's models"),
           "the schema the audit read does not have it: point --schema at the file or folder that creates it, "
           "include the app that defines the model, or give --database-url"),
    Remedy(re.compile(r"^SQL could not be parsed|^unparsed"),
           "the SQL parser could not read the statement: if it is valid SQL for the dialect, report it; "
           "else ignore UPS902 on that line"),
    Remedy(re.compile(r"no rule covers the dialect"),
           "no rule checks this dialect: set --dialect (postgres, sqlite, mysql) if the guess is wrong"),
    Remedy(re.compile(r""),
           "the SQL or the model is built at run time: write it as a constant, or declare the wrapper that "
           "builds it a sink ([[tool.upsert-audit.sinks]])"),
)

_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_NAMED = re.compile(r"\b(table|model|call to) [\w.…]+")
_NUMBER = re.compile(r"\b\d+\b")


@dataclass(frozen=True)
class UncheckedGroup:
    reason: str  # the reason with names left out, so like reasons group together
    what: str  # "write site" or "idiom"
    count: int
    places: tuple[Location, ...]  # the first PLACES_SHOWN places
    remedy: str


def normalized(reason: str) -> str:
    """`name 'sql' is a function parameter` -> `name … is a function parameter`."""
    return _NUMBER.sub("N", _NAMED.sub(r"\1 …", _QUOTED.sub("…", reason)))


def remedy_for(reason: str, sinks: list[str] = ()) -> str:
    """What would resolve a reason; with the sinks entries written out where they are known."""
    remedy = next(r.remedy for r in REMEDIES if r.pattern.search(reason))
    if sinks:
        remedy += f"; for these, add to [tool.upsert-audit]: sinks = [{', '.join(sinks[:PLACES_SHOWN])}]"
    return remedy


def unchecked(result) -> list[tuple[str, str, Location, str | None]]:
    """(what, reason, place, sinks entry that would resolve it) of every write site and idiom
    that no rule judged."""
    covered = {d for rule in result.rules for d in rule.dialects}
    found = []
    for site in result.sites:
        if site.status in (SiteStatus.CHECKED, SiteStatus.AT_CALLS):
            if site.status is SiteStatus.CHECKED and site.dialect not in covered:
                found.append(("write site", f"no rule covers the dialect {site.dialect}", site.location, None))
            continue
        reason = site.detail or site.status.value
        if site.status is SiteStatus.UNPARSED:
            reason = f"SQL could not be parsed: {reason}"
        found.append(("write site", reason, site.location, site.call.sink_hint))
    found += [("idiom", u.reason, u.location, None) for u in result.unchecked_idioms if u.upsert]
    return found


def unchecked_groups(result) -> list[UncheckedGroup]:
    """What was not checked, grouped by (kind, normalized reason), largest group first."""
    groups: dict[tuple[str, str], list[Location]] = {}
    hints: dict[tuple[str, str], list[str]] = {}
    for what, reason, place, hint in unchecked(result):
        key = (what, normalized(reason))
        groups.setdefault(key, []).append(place)
        if hint and hint not in hints.setdefault(key, []):
            hints[key].append(hint)
    ordered = sorted(groups.items(), key=lambda item: (-len(item[1]), item[0]))
    return [
        UncheckedGroup(reason, what, len(places), tuple(sorted(places)[:PLACES_SHOWN]), remedy_for(reason, hints.get((what, reason), [])))
        for (what, reason), places in ordered
    ]
