"""The rule framework: what a rule declares, how rule files are found and run.

A rule is one class in one file under `rules/` (Fixit's model): its id, name,
severity, fix safety and docs are class attributes, and its own VALID / INVALID
examples, each with the schema it needs, live beside the check. The test suite
turns every example into two tests: the audit must (not) report the rule, and the
real database must (not) reject the statement with the error the rule names.

Rule files are loaded by path, not as an installed `rules` package (that name
belongs to a popular Django package), so the same loader can take a user's own
rule folder later.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import ClassVar, Iterable, Iterator

from auditor.findings import Evidence, Finding, FixSafety
from auditor.model import Severity, Table
from auditor.sites import IdiomKind, IdiomSite, SiteStatus, WriteSite
from auditor.sql.holes import ALL_PARTS, shown

RULE_ID = re.compile(r"^UPS\d{3}$")

# What a rule can claim the database does with its invalid examples; the oracle tests
# check each claim on the real databases. Each reads after "the database" (the rule pages
# print it so).
CLAIMS = {
    "fails": "rejects the statement with the error the example names",
    "duplicates": "runs it without error, but running it twice leaves more rows where an upsert meant one",
    "skips": "runs it without error and inserts nothing",
    "overwrites": "runs it without error and changes a value the statement does not name",  # read by the example's `observe`
    "swallows": "runs it without error, though the same write without the ignoring clause is rejected",  # `strict_sql`
    "returns-nothing": "runs it without error and returns no row, though it has a RETURNING clause",
    "races": "runs it without error for one writer, but two writers running it at the same moment leave duplicate rows or get an error (tests/runtime/test_race_idioms.py and test_orm_races.py run each idiom)",
    "unchecked": "runs it without error: the finding is about what the tool could not check, or about a server the tests do not run",
}
# And what the oracle tests check it does with a valid example instead.
CLAIMS_VALID = {
    "duplicates": "runs it twice without error and has no more rows after the second run than after the first",
    "skips": "runs it without error and inserts the row",
    "overwrites": "runs it without error and leaves unchanged the value this query reads",
    "returns-nothing": "runs it without error and returns the row",
}


# Where a database's message holds a name or value that depends on where the example runs
# (the throwaway database's name, a row the test wrote), the declared message says VARIES,
# which matches anything there.
VARIES = "…"


@dataclass(frozen=True)
class ExpectedError:
    """The error an example says the database raises: its code and its primary message,
    verbatim as the database prints them (but for VARIES)."""

    code: str  # PostgreSQL's SQLSTATE, SQLite's result code name, MariaDB's error number
    message: str

    def matches(self, code: object, message: str) -> bool:
        pattern = ".+?".join(re.escape(part) for part in self.message.split(VARIES))
        return str(code) == self.code and re.fullmatch(pattern, message) is not None


@dataclass(frozen=True)
class Example:
    """A rule example: a schema and one statement, with what the database does.

    `sql` runs as written, with literal values, so the database can be asked; only
    when `params` is given is it a `%s`-parameterised statement, run prepared, many
    times over, as a driver that prepares statements runs it. An invalid example that
    fails (or a `strict_sql` that does) declares each database's error, code and primary
    message as the database prints them: `sqlstate` and `postgres_message` for
    PostgreSQL, `sqlite_code` (the extended result code's name, Python's
    `sqlite_errorname`) and `sqlite_error` for SQLite, `mysql_error` (the number) and
    `mysql_message` for MariaDB. The oracle tests check each against the real database,
    so the rule pages can print them. `setup` runs after the
    schema (rows the statement needs). `observe` is a query returning one value, for
    rules that claim a statement changes data it does not name ("overwrites");
    `strict_sql` is the same write without the clause that hides errors ("swallows"),
    which the database must reject. `python` is an optional Python snippet for the
    whole-pipeline test; by default the framework wraps `sql` in a psycopg
    `cur.execute(...)`.
    """

    valid: bool
    schema: str
    sql: str
    dialects: tuple[str, ...] = ("postgres",)
    sqlstate: str | None = None
    postgres_message: str | None = None
    sqlite_code: str | None = None
    sqlite_error: str | None = None
    mysql_error: int | None = None
    mysql_message: str | None = None
    setup: str = ""
    params: tuple = ()
    observe: str = ""
    strict_sql: str = ""
    claim: str | None = None  # where this example's dialect behaves otherwise than the rule's claim
    python: str | None = None
    note: str = ""

    def error(self, dialect: str) -> ExpectedError | None:
        """The error the example says the database of `dialect` raises; None if it names none."""
        code, message = {
            "postgres": (self.sqlstate, self.postgres_message),
            "sqlite": (self.sqlite_code, self.sqlite_error),
            "mysql": (self.mysql_error, self.mysql_message),
        }[dialect]
        return ExpectedError(str(code), message) if code is not None and message else None


def Valid(schema: str, sql: str, **kwargs) -> Example:  # noqa: N802 - reads like Fixit's Valid(...)
    return Example(valid=True, schema=schema, sql=sql, **kwargs)


def Invalid(schema: str, sql: str, **kwargs) -> Example:  # noqa: N802
    return Example(valid=False, schema=schema, sql=sql, **kwargs)


@dataclass(frozen=True)
class Violation:
    """What `Rule.check` yields; the framework adds the rule's metadata."""

    message: str
    fix: str  # what to do, in words
    evidence: tuple[Evidence, ...] = ()
    fix_code: str | None = None  # paste-ready SQL that does it
    severity: Severity | None = None  # this violation's, where it is less than the rule's


class Rule:
    """Base class. Subclasses set the metadata and implement `check`."""

    id: ClassVar[str]
    name: ClassVar[str]
    severity: ClassVar[Severity]
    fix_safety: ClassVar[FixSafety]
    dialects: ClassVar[tuple[str, ...]]  # where the rule's claim holds
    # Ruff-style docs, Markdown.
    what: ClassVar[str]
    why: ClassVar[str]
    example: ClassVar[str]
    use_instead: ClassVar[str]
    examples: ClassVar[tuple[Example, ...]] = ()
    # What the rule claims the database does with an invalid example (CLAIMS); the oracle
    # tests check exactly that claim.
    claim: ClassVar[str] = "fails"
    # Does the database reject the statement when it merely plans it? Then `verify` can
    # confirm or contradict the finding; if the error only comes at execution, it cannot.
    fails_at_planning: ClassVar[bool] = True

    # Which write sites the rule sees: by default those whose statement parsed and whose
    # table the catalog knows; coverage rules (UPS9xx) see the others, with table None.
    statuses: ClassVar[tuple[SiteStatus, ...]] = (SiteStatus.CHECKED,)
    # The parts of the statement the rule's claim rests on (auditor.sql.holes): where one of
    # them was built at run time the rule does not run there; the others still do.
    needs: ClassVar[frozenset[str]] = ALL_PARTS

    def check(self, site: WriteSite, table: Table | None) -> Iterable[Violation]:
        """Violations at one write site (the table is None only for coverage rules)."""
        raise NotImplementedError

    def findings(self, site: WriteSite, table: Table | None) -> Iterator[Finding]:
        if site.dialect not in self.dialects or site.status not in self.statuses:
            return
        if site.statement is not None and site.statement.unknown & self.needs:
            return
        table_name = str(table.name) if table else (str(site.statement.table) if site.statement else None)
        for violation in self.check(site, table):
            finding = self.finding(violation, site.location, table_name, shown(site.call.sql), site.call.origin)  # SQL as the user wrote it
            yield replace(finding, through=site.call.through) if site.call.through else finding

    def finding(self, violation: Violation, location, table: str | None, sql: str | None, sql_origin=None) -> Finding:
        """The rule's metadata around one violation."""
        return Finding(
            rule=self.id,
            name=self.name,
            severity=violation.severity or self.severity,
            location=location,
            message=violation.message,
            fix=violation.fix,
            fix_safety=self.fix_safety,
            fix_code=violation.fix_code,
            table=table,
            sql=(sql or "").strip() or None,
            sql_origin=sql_origin,
            evidence=violation.evidence,
        )

    @classmethod
    def summary(cls) -> str:
        """One line: the rule file's docstring, after the rule id it starts with."""
        doc = (sys.modules[cls.__module__].__doc__ or "").strip()
        return " ".join(doc.removeprefix(f"{cls.id}:").split()) or cls.name

    @classmethod
    def docs_sections(cls) -> dict[str, str]:
        """The docs in Ruff's shape, heading -> Markdown; the rule pages add to them."""
        return {
            "What it does": cls.what.strip(),
            "Why is this bad?": cls.why.strip(),
            "Example": cls.example.strip(),
            "Use instead": cls.use_instead.strip(),
        }

    @classmethod
    def docs_markdown(cls) -> str:
        sections = "\n\n".join(f"### {heading}\n\n{body}" for heading, body in cls.docs_sections().items())
        return (
            f"## {cls.id} `{cls.name}`\n\n"
            f"Severity: {cls.severity}. Fix: {cls.fix_safety.value}. "
            f"Dialects: {', '.join(cls.dialects)}.\n\n{sections}\n"
        )


class IdiomRule(Rule):
    """A rule over a multi-statement idiom (IdiomSite) instead of one statement.

    Its examples carry `python` (the idiom) and `schema`; the static test runs the real
    extractor on the code. What the database does with the idiom under concurrent
    writers is a property of the idiom, proven once per idiom on the real databases by
    tests/runtime/test_race_idioms.py (raw SQL) and test_orm_races.py (Django, SQLAlchemy);
    test_race_idioms_are_flagged.py audits the code raced and checks each rule flags it.
    """

    idioms: ClassVar[tuple[IdiomKind, ...]]
    claim = "races"
    fails_at_planning = False  # each statement plans fine; the race is between them

    def check(self, site: IdiomSite, table: Table) -> Iterable[Violation]:  # type: ignore[override]
        raise NotImplementedError

    def findings(self, site: IdiomSite, table: Table | None) -> Iterator[Finding]:  # type: ignore[override]
        if not isinstance(site, IdiomSite) or site.kind not in self.idioms or site.dialect not in self.dialects or table is None:
            return
        for violation in self.check(site, table):  # the lookup's place is where the idiom's other SQL is (as in the sites list)
            if site.call.serialised_by:  # two writers that both take the lock cannot interleave
                violation = replace(
                    violation, severity=Severity.INFO,
                    message=f"{violation.message} (the code takes a lock first, `{site.call.serialised_by}`: only a writer that does not take it can race)",
                )
            yield self.finding(violation, site.location, str(table.name), site.call.write_sql, site.call.guard_location)


REQUIRED_ATTRIBUTES = ("id", "name", "severity", "fix_safety", "dialects", "what", "why", "example", "use_instead")


class RuleLoadError(Exception):
    pass


def _load_module(path: Path):
    module_name = f"auditor._loaded_rules.{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise RuleLoadError(f"{path}: not a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def validate_rule(rule: type[Rule], path: Path) -> None:
    missing = [a for a in REQUIRED_ATTRIBUTES if not getattr(rule, a, None)]
    if missing:
        raise RuleLoadError(f"{path}: rule {rule.__name__} lacks {', '.join(missing)}")
    if not RULE_ID.match(rule.id):
        raise RuleLoadError(f"{path}: rule id {rule.id!r} is not UPS + three digits")


def load_rules(folder: Path) -> list[Rule]:
    """Every Rule subclass defined in `folder/*.py`, sorted by id; one file, one rule."""
    rules: list[Rule] = []
    for path in sorted(folder.glob("*.py")):
        if path.name.startswith("_"):
            continue
        module = _load_module(path)
        defined = [
            obj
            for obj in vars(module).values()
            if isinstance(obj, type) and issubclass(obj, Rule) and obj.__module__ == module.__name__
        ]
        if len(defined) != 1:
            raise RuleLoadError(f"{path}: expected exactly one Rule class, found {len(defined)}")
        validate_rule(defined[0], path)
        rules.append(defined[0]())
    ids = [r.id for r in rules]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        raise RuleLoadError(f"duplicate rule ids in {folder}: {', '.join(sorted(duplicates))}")
    return sorted(rules, key=lambda r: r.id)


_BUILTIN: list[Rule] | None = None


def builtin_rules() -> list[Rule]:
    global _BUILTIN
    if _BUILTIN is None:
        from auditor.resources import rules_dir

        _BUILTIN = load_rules(rules_dir())
    return _BUILTIN
