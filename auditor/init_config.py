"""`upsert-audit init`: the `[tool.upsert-audit]` table a project's first audit suggests.

Every key written is a choice the audit could see the evidence for, with that evidence as
its comment; every choice it could not make is written commented out, with what would make
it. Keys are pinned only where pinning leaves the audit's result unchanged (a dialect all
the drivers agree on, the exact SQL files the default discovery read), so the audit under
the written table is the audit just printed.
"""

from __future__ import annotations

import re
import textwrap
import tomllib
from collections import Counter
from pathlib import Path

from auditor.config import SECTION, Config, ConfigError, parse_section, toml_value
from auditor.engine import DRIVER_DIALECT, AuditResult, project_files
from auditor.sites import SiteStatus

SHOWN = 4  # places or files named per comment

WIDTH = 96
HEADER = ("Written by `upsert-audit init` from what it read in this project; each comment says why. "
          "`upsert-audit config` prints the effective configuration; the README explains every key.")


def _names(counts: Counter[str], unit: str) -> str:
    shown = [f"{name} ({n} {unit}{'' if n == 1 else 's'})" for name, n in counts.most_common(SHOWN)]
    return ", ".join(shown) + (", …" if len(counts) > SHOWN else "")


def comment(text: str) -> list[str]:
    return textwrap.wrap(text, WIDTH, initial_indent="# ", subsequent_indent="# ", break_on_hyphens=False)


def dialect_lines(result: AuditResult) -> list[str]:
    """Pinned when the ORM settings or every driver name one dialect; a pin would otherwise
    check each driver's writes in the wrong dialect."""
    drivers = Counter(s.call.driver for s in result.sites if s.call.driver in DRIVER_DIALECT)
    spoken = {DRIVER_DIALECT[d] for d in drivers}
    declared = set(result.declared_dialects)
    if len(declared) == 1:
        return comment("The database the project's ORM settings name.") + [f'dialect = "{result.dialect}"']
    if len(spoken) == 1 and not declared:
        return comment(f"What the code's drivers speak: {_names(drivers, 'write site')}.") + [f'dialect = "{result.dialect}"']
    if spoken or declared:
        return comment("dialect: not set: the code speaks several, and each write is checked in its own driver's "
                       f"dialect ({_names(drivers, 'write site')}); writes whose driver the audit cannot tell are "
                       "checked in this one, its guess. Set the one the application runs on to check them all in "
                       "it.") + [f'# dialect = "{result.dialect}"']
    return comment("No driver or ORM database setting found, so the audit assumed this dialect: set the one the "
                   "project runs on (postgres | sqlite | mysql).") + [f'# dialect = "{result.dialect}"']


def sql_folders(result: AuditResult) -> list[str] | None:
    """The folders of the SQL files read, when reading only those folders reads the same
    files in the same order; else None (then the default discovery stays)."""
    read = [s for s in result.catalog.sources if s.endswith(".sql")]
    if not read:
        return None
    folders = sorted({Path(s).parent.as_posix() for s in read})
    root = result.config.root
    pinned = Config(root=root, schema=tuple(root / f for f in folders), exclude=result.config.exclude)
    default = Config(root=root, exclude=result.config.exclude)
    if project_files(pinned)[1] != project_files(default)[1]:
        return None
    return folders


def schema_lines(result: AuditResult) -> list[str]:
    lines = []
    folders = sql_folders(result)
    sql_count = sum(1 for s in result.catalog.sources if s.endswith(".sql"))
    if folders:
        lines += comment(f"The {sql_count} SQL schema file(s) read are in these folders (default: every .sql "
                         "file under the project).") + [f"schema = {toml_value(folders, result.config.root)}"]
    elif sql_count:
        lines += comment(f"schema: not set: the {sql_count} SQL file(s) read are all over the project; list the "
                         "folders that hold the schema to read only those.")
    models = Counter(Path(s).parent.as_posix() for s in result.catalog.sources if s.endswith(".py"))
    kinds = [k for k in result.schema_sources if k != "SQL files"]
    if kinds:
        lines += comment(f"Also read as schema, with no setting needed: {', '.join(kinds)} ({_names(models, 'file')}).")
    if "django models" in kinds and "django migrations" not in kinds:
        lines += comment("The Django migrations were not replayed: the keys come from the models alone, and "
                         "`upsert-audit migrate` will ask for --format and -o.")
    if not result.catalog.sources:
        lines += comment("No schema found: no .sql file, migration history or model the audit reads. Set `schema` "
                         "to the files that create the tables, or `database-url`.")
    lines += comment("Or read the real keys from a live database (needs `pip install 'upsert-audit[postgres]'`, "
                     "or [mysql]):") + ['# database-url = "postgresql://user@host/db"']
    return lines


def helper_lines(result: AuditResult) -> list[str]:
    """The project's own helpers the audit followed (no setting needed), and the calls it could
    not follow, as the sinks entry that would check them, commented out for the user to judge."""
    followed = Counter(f"{s.call.through[-1].path}:{s.call.through[-1].line}" for s in result.sites if s.call.through)
    hints = Counter(s.call.sink_hint for s in result.sites if s.call.sink_hint and s.status is not SiteStatus.CHECKED)
    lines = []
    if followed:
        lines += comment(f"The project's own helpers, followed with no setting needed: {_names(followed, 'call')}.")
    if hints:
        lines += comment("Helpers whose SQL is a parameter that no caller could be followed into: if they run SQL, "
                         "uncomment to check their calls.") + ["# sinks = [", *(f"#     {h}," for h in hints), "# ]"]
    return lines


def proposed_table(result: AuditResult) -> str:
    lines = [*comment(HEADER), f"[tool.{SECTION}]"]
    lines += dialect_lines(result)
    lines += schema_lines(result)
    lines += comment("Info findings (coverage, portability advice) never fail a commit.") + ['fail-on = "warning"']
    lines += comment("Tests run one writer at a time: their race idioms are not read (their SQL still is).")
    lines.append("idioms-in-tests = false")
    lines += helper_lines(result)
    return "\n".join(lines) + "\n"


def _without_section(data: dict) -> dict:
    tool = {k: v for k, v in data.get("tool", {}).items() if k != SECTION}
    rest = {k: v for k, v in data.items() if k != "tool"}
    return {**rest, "tool": tool} if tool else rest


def existing_settings(existing: str, force: bool) -> dict:
    """pyproject.toml's settings, when init may add its table to them."""
    try:
        settings = tomllib.loads(existing)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"pyproject.toml is not valid TOML ({error}); nothing written") from None
    if SECTION in settings.get("tool", {}) and not force:
        raise ConfigError(f"pyproject.toml already has [tool.{SECTION}]; nothing written "
                          "(`upsert-audit init --force` replaces it)")
    return settings


HEADER_LINE = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")


def _table_name(line: str) -> str | None:
    match = HEADER_LINE.match(line)
    return re.sub(r"\s*\.\s*", ".", match.group(1)).replace('"', "") if match else None


def _comments_above(lines: list[str], index: int) -> int:
    """Where the run of comment lines directly above line `index` starts: a table's own comment."""
    while index > 0 and lines[index - 1].lstrip().startswith("#"):
        index -= 1
    return index


def without_our_tables(text: str) -> str:
    """The text with `[tool.upsert-audit]` and its sub-tables cut out, each with the comment
    written directly above it; the comment above the next table stays with that table.
    (A table boundary is a header line; with_table checks the cut by parsing both texts.)"""
    lines = text.splitlines(keepends=True)
    headers = [i for i, line in enumerate(lines) if _table_name(line) is not None]
    cut: set[int] = set()
    for n, start in enumerate(headers):
        name = _table_name(lines[start])
        if name != f"tool.{SECTION}" and not name.startswith(f"tool.{SECTION}."):
            continue
        end = _comments_above(lines, headers[n + 1]) if n + 1 < len(headers) else len(lines)
        cut.update(range(_comments_above(lines, start), end))
    return "".join(line for i, line in enumerate(lines) if i not in cut)


def with_table(existing: str | None, table: str, force: bool, root: Path) -> str:
    """pyproject.toml's text with `table` added (or, with `force`, replacing ours); everything
    else in the file kept as it was, which is checked before anything is written."""
    wanted = tomllib.loads(table)["tool"][SECTION]
    parse_section(wanted, root)  # what init writes must load
    if existing is None:
        return table
    before = existing_settings(existing, force)
    if SECTION in before.get("tool", {}):
        existing = without_our_tables(existing)
    text = existing.rstrip("\n") + "\n\n" + table if existing.strip() else table
    try:
        after = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        after = None
    if after is None or _without_section(after) != _without_section(before) or after["tool"][SECTION] != wanted:
        raise ConfigError(f"could not replace [tool.{SECTION}] without touching the rest of pyproject.toml "
                          "(is it written as dotted keys or an inline table?); nothing written: remove it by hand "
                          "and run `upsert-audit init` again")
    return text
