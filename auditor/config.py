"""Configuration: `[tool.upsert-audit]` in pyproject.toml, overridden by flags.

The file is found by walking up from the audited path, as Ruff does. Unknown keys
and bad values are errors that name the key: a typo must not silently turn a
check off. Every key is also a command-line flag (see auditor.cli).

    dialect = "postgres"                 # postgres | sqlite | mysql
    schema = ["migrations"]              # .sql files or folders
    database-url = "postgresql://..."    # read the schema from a live database instead (PostgreSQL, SQLite)
    include = ["src/"]                   # gitignore syntax: audit only these Python files (default: all)
    exclude = ["legacy/", "*_pb2.py"]    # gitignore syntax; .gitignore is honoured too
    select = ["UPS0"]                    # rule ids or prefixes to run (default: all)
    ignore = ["UPS004"]                  # rule ids or prefixes not to run
    fail-on = "warning"                  # lowest severity that makes the exit code 1
    cache = true                         # reuse per-file results in .upsert-audit-cache/
    jobs = 2                             # processes for parsing big trees (default: cores, at most 4)
    idioms-in-tests = false              # read race idioms (check-then-insert...) in test files too
    keep-newest-by = ["updated_at"]      # migrate: which duplicate row is kept (newest by these; then the primary key)
    archive-table = "{table}_dedup_archive"  # migrate: where removed duplicates are kept
    helper = "myapp.db.upsert_record"    # fix: the upsert function rewritten code calls (default: auditor.upsert.upsert_record)
    [tool.upsert-audit.severity]         # per-rule severity overrides
    UPS002 = "warning"
    [tool.upsert-audit.per-file-ignores] # gitignore-style pattern -> rule ids or prefixes
    "tests/**" = ["UPS001"]
    [[tool.upsert-audit.sinks]]          # the project's own driver wrappers (auditor.python.sinks)
    call = "db.run"
    sql-argument = 0
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

from auditor.dialects import canonical_dialect
from auditor.model import Severity
from auditor.python.sinks import Sink

SECTION = "upsert-audit"
KNOWN_KEYS = (
    "dialect", "schema", "database-url", "include", "exclude", "select", "ignore", "fail-on", "severity", "per-file-ignores",
    "sinks", "cache", "jobs", "keep-newest-by", "archive-table", "helper", "idioms-in-tests",
)
DEFAULT_HELPER = "auditor.upsert.upsert_record"
DOTTED = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)+$")
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")
RULE_SELECTOR = re.compile(r"^UPS\d{0,3}$")


class ConfigError(Exception):
    """Bad configuration or usage; the CLI exits 2 with this message."""


@dataclass(frozen=True)
class Config:
    root: Path  # the project root: paths in output are relative to it
    dialect: str | None = None
    schema: tuple[Path, ...] = ()  # absolute; empty = discover under root
    database_url: str | None = None  # live schema source instead of files
    include: tuple[str, ...] = ()  # empty: every Python file
    exclude: tuple[str, ...] = ()
    select: tuple[str, ...] = ()  # empty = every rule
    ignore: tuple[str, ...] = ()
    fail_on: Severity = Severity.WARNING  # info findings (coverage, portability advice) never fail a commit by default
    severity: dict[str, Severity] = field(default_factory=dict)
    per_file_ignores: dict[str, tuple[str, ...]] = field(default_factory=dict)
    sinks: tuple[Sink, ...] = ()
    cache: bool = True
    jobs: int | None = None  # None: one per core, at most 4
    idioms_in_tests: bool = False  # test code runs one writer at a time: its races are not the application's
    keep_newest_by: tuple[str, ...] = ("updated_at", "created_at")  # migrate: columns that say which row is newest
    archive_table: str = "{table}_dedup_archive"  # migrate: where duplicates go
    helper: str = DEFAULT_HELPER  # fix: module.function the rewritten code calls; its async twin is module.a<function>
    source: Path | None = None  # the pyproject.toml read, if any

    def rule_enabled(self, rule_id: str) -> bool:
        selected = not self.select or rule_id.startswith(self.select)
        return selected and not (self.ignore and rule_id.startswith(self.ignore))

    def ignored_in_file(self, rule_id: str, path: str) -> bool:
        return any(
            rule_id.startswith(rules) and pathspec.GitIgnoreSpec.from_lines([pattern]).match_file(path)
            for pattern, rules in self.per_file_ignores.items()
        )

    def included(self, relative: str) -> bool:
        """Is this Python file (relative POSIX path) one the user wants audited?"""
        return not self.include or pathspec.GitIgnoreSpec.from_lines(self.include).match_file(relative)

    def excluded(self) -> pathspec.GitIgnoreSpec:
        """Configured excludes plus the project's .gitignore, as one gitignore spec."""
        lines = list(self.exclude)
        gitignore = self.root / ".gitignore"
        if gitignore.is_file():
            lines += gitignore.read_text(encoding="utf-8", errors="replace").splitlines()
        return pathspec.GitIgnoreSpec.from_lines(lines)


# --- value parsers: each names the key it reads in its errors -------------------


def _string(value: object, key: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"`{key}` must be a string, got {value!r}")
    return value


def _strings(value: object, key: str) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(v, str) for v in items):
        raise ConfigError(f"`{key}` must be a string or a list of strings, got {value!r}")
    return tuple(items)


def _dialect(value: object, key: str = "dialect") -> str:
    try:
        return canonical_dialect(_string(value, key))
    except ValueError as error:
        raise ConfigError(f"`{key}`: {error}") from None


def _severity(value: object, key: str) -> Severity:
    text = _string(value, key).lower()
    try:
        return Severity[text.upper()]
    except KeyError:
        raise ConfigError(f"`{key}`: unknown severity {value!r}; choose info, warning or error") from None


def _rule_selectors(value: object, key: str) -> tuple[str, ...]:
    selectors = tuple(s.strip().upper() for s in _strings(value, key))
    bad = [s for s in selectors if not RULE_SELECTOR.match(s)]
    if bad:
        raise ConfigError(f"`{key}`: {', '.join(bad)} is not a rule id or prefix (like UPS001 or UPS0)")
    return selectors


def _table(value: object, key: str) -> dict:
    if not isinstance(value, dict):
        raise ConfigError(f"`{key}` must be a table, got {value!r}")
    return value


def _paths(value: object, base: Path, key: str) -> tuple[Path, ...]:
    paths = tuple((base / v).resolve() for v in _strings(value, key))
    for path in paths:
        if not path.exists():
            raise ConfigError(f"`{key}`: {path} does not exist")
    return paths


def _check_schema_file(path: Path, key: str) -> None:
    """A schema file must be SQL text the audit can read: anything else is an error that names it,
    never an empty catalog. (A folder is searched for .sql files; the framework's migrations
    and models are read from the Python files whatever --schema says.)"""
    if path.is_dir():
        return
    if path.suffix.lower() != ".sql":
        raise ConfigError(f"`{key}`: {path} is not a SQL schema file (.sql); give .sql files or folders (models and migrations are read from the Python code)")
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ConfigError(f"`{key}`: {path} cannot be read: {error.strerror or error}") from None
    if b"\x00" in data:
        raise ConfigError(f"`{key}`: {path} is not a text file")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ConfigError(f"`{key}`: {path} is not UTF-8 text ({error.reason} at byte {error.start})") from None


SINK_ARGUMENTS = {"sql-argument": "sql_argument", "table-argument": "table_argument", "key-argument": "key_argument", "values-argument": "values_argument"}


def _sink(value: object, key: str) -> Sink:
    table = _table(value, key)
    unknown = sorted(set(table) - {"call", *SINK_ARGUMENTS})
    if unknown:
        raise ConfigError(f"`{key}`: unknown key(s) {', '.join(unknown)} (known: call, {', '.join(SINK_ARGUMENTS)})")
    if not isinstance(table.get("call"), str) or not re.fullmatch(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*", table["call"]):
        raise ConfigError(f"`{key}.call` must be a dotted name like \"db.run\", got {table.get('call')!r}")
    arguments = {}
    for name, attribute in SINK_ARGUMENTS.items():
        if name in table:
            if not isinstance(table[name], int) or isinstance(table[name], bool) or table[name] < 0:
                raise ConfigError(f"`{key}.{name}` must be an argument position (0, 1, ...), got {table[name]!r}")
            arguments[attribute] = table[name]
    sql = "sql_argument" in arguments
    structured = "table_argument" in arguments and "key_argument" in arguments
    if sql == structured or (sql and len(arguments) > 1):
        raise ConfigError(f"`{key}`: give either sql-argument, or table-argument and key-argument (and optionally values-argument)")
    return Sink(table["call"], **arguments)


def _sinks(value: object, key: str) -> tuple[Sink, ...]:
    if not isinstance(value, list):
        raise ConfigError(f"`{key}` must be a list of tables ([[tool.upsert-audit.sinks]]), got {value!r}")
    return tuple(_sink(item, f"{key}[{i}]") for i, item in enumerate(value))


def parse_section(section: dict, base: Path) -> dict:
    """Config fields from a `[tool.upsert-audit]` table (or from flags, same keys)."""
    unknown = sorted(set(section) - set(KNOWN_KEYS))
    if unknown:
        raise ConfigError(f"unknown key(s): {', '.join(unknown)} (known: {', '.join(KNOWN_KEYS)})")
    fields: dict = {}
    for key, value in section.items():
        if key == "dialect":
            fields["dialect"] = _dialect(value)
        elif key == "schema":
            fields["schema"] = _paths(value, base, key)
            for path in fields["schema"]:
                _check_schema_file(path, key)
        elif key == "database-url":
            fields["database_url"] = _string(value, key)
        elif key in ("include", "exclude"):
            fields[key] = _strings(value, key)
        elif key in ("select", "ignore"):
            fields[key] = _rule_selectors(value, key)
        elif key == "sinks":
            fields["sinks"] = _sinks(value, key)
        elif key == "cache":
            if not isinstance(value, bool):
                raise ConfigError(f"`cache` must be true or false, got {value!r}")
            fields["cache"] = value
        elif key == "idioms-in-tests":
            if not isinstance(value, bool):
                raise ConfigError(f"`idioms-in-tests` must be true or false, got {value!r}")
            fields["idioms_in_tests"] = value
        elif key == "jobs":
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"`jobs` must be a whole number of at least 1, got {value!r}")
            fields["jobs"] = value
        elif key == "keep-newest-by":
            columns = _strings(value, key)
            bad = [c for c in columns if not IDENTIFIER.match(c)]
            if bad:
                raise ConfigError(f"`keep-newest-by` must list column names, got {', '.join(map(repr, bad))}")
            fields["keep_newest_by"] = columns
        elif key == "archive-table":
            name = _string(value, key)
            if "{table}" not in name or not IDENTIFIER.match(name.replace("{table}", "t")):
                raise ConfigError(f"`archive-table` must be a table name containing {{table}}, like \"{{table}}_dedup_archive\", got {name!r}")
            fields["archive_table"] = name
        elif key == "helper":
            path = _string(value, key)
            if not DOTTED.match(path):
                raise ConfigError(f"`helper` must be an import path like \"myapp.db.upsert_record\", got {path!r}")
            fields["helper"] = path
        elif key == "fail-on":
            fields["fail_on"] = _severity(value, key)
        elif key == "severity":
            fields["severity"] = {
                _rule_selectors(rule, f"severity.{rule}")[0]: _severity(level, f"severity.{rule}")
                for rule, level in _table(value, key).items()
            }
        elif key == "per-file-ignores":
            fields["per_file_ignores"] = {
                pattern: _rule_selectors(rules, f"per-file-ignores.{pattern}") for pattern, rules in _table(value, key).items()
            }
    return fields


def find_pyproject(start: Path) -> tuple[Path, dict] | None:
    """The nearest pyproject.toml at or above `start` that has our section."""
    start = start if start.is_dir() else start.parent
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            try:
                data = tomllib.loads(candidate.read_text(encoding="utf-8"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
                raise ConfigError(f"{candidate}: not valid TOML: {error}") from None
            section = data.get("tool", {}).get(SECTION)
            if section is not None:
                return candidate, section
    return None


def load_config(target: Path, **flags) -> Config:
    """Effective configuration for auditing `target`; flags (same keys, None = unset) win."""
    target = Path(target).resolve()
    if not target.exists():
        raise ConfigError(f"{target}: no such file or directory")
    found = find_pyproject(target)
    fields: dict = {}
    if found:
        source, section = found
        try:
            fields = parse_section(section, source.parent)
        except ConfigError as error:
            raise ConfigError(f"{source} [tool.{SECTION}]: {error}") from None
        fields.update(root=source.parent, source=source)
    else:
        fields["root"] = target if target.is_dir() else target.parent
    given = {k: v for k, v in flags.items() if v is not None}
    try:
        fields.update(parse_section(given, Path.cwd()))
    except ConfigError as error:
        raise ConfigError(f"command line: {error}".replace("`", "`--", 1)) from None
    return Config(**fields)


def toml_value(value, root: Path) -> str:
    """A configuration value as TOML: strings, severities, lists, paths relative to `root`."""
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v, root) for v in value) + "]"
    if isinstance(value, Severity):
        return f'"{value}"'
    if isinstance(value, Path):
        return toml_value(value.relative_to(root).as_posix() if value.is_relative_to(root) else str(value), root)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def describe(config: Config) -> str:
    """The effective configuration, as TOML a user could paste into pyproject.toml."""

    def toml(value) -> str:
        return toml_value(value, config.root)

    lines = [f"# root: {config.root}", f"# read from: {config.source or 'no pyproject.toml with [tool.upsert-audit]'}", "[tool.upsert-audit]"]
    lines.append(f"dialect = {toml(config.dialect) if config.dialect else '# from the drivers the code imports'}")
    lines.append(f"schema = {toml(config.schema)}" + ("  # empty: every .sql file under the root" if not config.schema else ""))
    lines.append(f"include = {toml(config.include)}" + ("  # empty: every Python file" if not config.include else ""))
    if config.database_url:
        lines.append("database-url = \"<set>\"  # not printed: it may hold a password")
    lines.append(f"exclude = {toml(config.exclude)}")
    lines.append(f"select = {toml(config.select)}" + ("  # empty: every rule" if not config.select else ""))
    lines.append(f"ignore = {toml(config.ignore)}")
    lines.append(f"fail-on = {toml(config.fail_on)}")
    lines.append(f"cache = {'true' if config.cache else 'false'}")
    lines.append(f"keep-newest-by = {toml(config.keep_newest_by)}  # then the primary key")
    lines.append(f"archive-table = {toml(config.archive_table)}")
    lines.append(f"helper = {toml(config.helper)}")
    lines.append(f"jobs = {config.jobs}" if config.jobs else "# jobs: unset, one process per core (at most 4)")
    lines.append(f"idioms-in-tests = {'true' if config.idioms_in_tests else 'false'}")
    for sink in config.sinks:
        arguments = {name: getattr(sink, attribute) for name, attribute in SINK_ARGUMENTS.items() if getattr(sink, attribute) is not None}
        lines.append("\n[[tool.upsert-audit.sinks]]\ncall = " + toml(sink.call))
        lines.extend(f"{name} = {position}" for name, position in arguments.items())
    lines.append("\n[tool.upsert-audit.severity]")
    lines.extend(f"{rule} = {toml(level)}" for rule, level in sorted(config.severity.items()))
    lines.append("\n[tool.upsert-audit.per-file-ignores]")
    lines.extend(f"{toml(pattern)} = {toml(rules)}" for pattern, rules in config.per_file_ignores.items())
    return "\n".join(lines) + "\n"
