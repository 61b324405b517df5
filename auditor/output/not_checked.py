"""What the audit could not check or read, as entries for the CI formats (GitLab, JUnit).

Silent is not clean: a CI report that lists only findings reads as a pass where nothing was
checked. So each reason something was not checked (the coverage summary's groups, the same as
the terminal's "Not checked, by reason" and the JSON's `unchecked`) and each file or statement
the audit could not read or decide (the diagnostics) becomes one entry, with a fingerprint that
stays the same across unrelated edits (no line numbers), as findings' fingerprints do.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass

from auditor.engine import AuditResult
from auditor.model import Location

UNCHECKED = "unchecked"  # the check name of the coverage groups; a diagnostic's is its kind


@dataclass(frozen=True)
class NotChecked:
    check: str  # "unchecked", or the diagnostic's kind (syntax-error, schema-drift, ...)
    name: str  # what it is about, unique and without counts or lines: the same from run to run
    title: str  # one line
    detail: str  # the places and what would resolve it
    location: Location  # where a report shows it: the group's first place, or the diagnostic's
    fingerprint: str


def _hash(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:32]


def unchecked_entries(result: AuditResult) -> list[NotChecked]:
    """One entry per reason (the groups `result.unchecked_groups` computes), located at its first
    place: the reason and kind identify it, so adding a site of a known reason changes the count,
    not the fingerprint."""
    entries = []
    for group in result.unchecked_groups:
        more = f" and {group.count - len(group.places)} more" if group.count > len(group.places) else ""
        entries.append(NotChecked(
            check=UNCHECKED,
            name=f"{group.what}(s): {group.reason}",
            title=f"{group.count} {group.what}(s) not checked: {group.reason}",
            detail=f"at {', '.join(map(str, group.places))}{more}\nto resolve: {group.remedy}",
            location=group.places[0],
            fingerprint=f"{_hash(UNCHECKED, group.what, group.reason)}:0",
        ))
    return entries


def diagnostic_entries(result: AuditResult) -> list[NotChecked]:
    """One entry per diagnostic; identical ones numbered in order, as fingerprint.py does."""
    seen: Counter[str] = Counter()
    entries = []
    for d in result.diagnostics:
        base = _hash(d.kind, d.path, d.message)
        fingerprint = f"{base}:{seen[base]}"
        seen[base] += 1
        entries.append(NotChecked(d.kind, f"{d.path} [{fingerprint}]", f"{d.kind}: {d.message}", str(d), Location(d.path, d.line or 1), fingerprint))
    return entries


def not_checked(result: AuditResult) -> list[NotChecked]:
    return unchecked_entries(result) + diagnostic_entries(result)
