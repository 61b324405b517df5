"""The audit pipeline: schema catalog + write sites -> rules -> findings.

    files -> schema files -> Catalog
          -> Python files -> SqlCalls -> WriteStatements -> WriteSites
    (Catalog, WriteSites) -> rules -> Findings

Each stage is a function of the previous ones' records; this module only wires
them together and counts what was and was not checked, so every output can be
honest about coverage.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Callable

from auditor.coverage import UncheckedGroup, unchecked_groups
from auditor.changed import classify, python_schema_tables, relevant
from auditor.config import Config
from auditor.dialects import MYSQL, POSTGRES, SQLITE
from auditor.findings import Finding
from auditor.model import Catalog, Diagnostic, Severity
from auditor.python import default_jobs, scan_python_files
from auditor.idiom_sites import idiom_site
from auditor.rulebook import IdiomRule, Rule, builtin_rules
from auditor.schema import discover_schema_files
from auditor.schema.discover import migration_order
from auditor.schema.live import live_catalog
from auditor import schema_in_background
from auditor.schema.reading_cache import read_schema_kept
from auditor.schema.sources import ProjectSchema, SchemaReading, finish_catalog, python_schema_files
from auditor.schema_in_background import SchemaInBackground
from auditor.python.drivers import declared_dialects, module_driver
from auditor.python.files import execute_call_spans, is_test_file, may_hold_sql_call
from auditor.python.orm_dialects import for_dialect
from auditor.python.neutral_sql import names_models, related_models, resolve_models
from auditor.sites import IdiomCall, IdiomSite, IdiomUnchecked, SiteStatus, SqlCall, WriteSite
from auditor.sql.holes import TABLE
from auditor.sql.statement import parse_write_statements
from auditor.suppression import Suppression, apply_suppressions
from auditor.walk import Exclusion, walk_files

# The dialect a driver speaks. SQLAlchemy and Django speak whatever their
# engine is configured with, which we cannot know without running code.
DRIVER_DIALECT = {
    "psycopg": POSTGRES,
    "psycopg2": POSTGRES,
    "asyncpg": POSTGRES,
    "sqlite3": SQLITE,
    "aiosqlite": SQLITE,
    "pymysql": MYSQL,
    "MySQLdb": MYSQL,
    "mysql.connector": MYSQL,
}

DEFAULT_DIALECT = POSTGRES


@dataclass
class Summary:
    python_files: int = 0
    python_files_parsed: int = 0
    python_files_cached: int = 0
    tests_without_idioms: int = 0  # test files whose race idioms were not read (idioms-in-tests = false)
    schema_files: int = 0
    tables: int = 0
    write_sites: int = 0  # every SQL write handed to an execute-like call, plus unresolved calls
    resolved: int = 0  # SQL known and parsed, table found in the catalog
    checked: int = 0  # resolved sites in a dialect the rules cover
    partly_known: int = 0  # checked sites with a part built at run time: only rules not needing it ran
    unresolved: int = 0  # SQL not a constant we could evaluate
    unparsed: int = 0  # SQL known, sqlglot could not parse it
    unknown_tables: list[str] = field(default_factory=list)
    idioms: int = 0  # multi-statement upsert idioms read (check-then-insert, get_or_create, ...)
    idioms_unchecked: int = 0  # idioms found whose statements or table could not be read
    suppressed: int = 0  # findings silenced by inline comments
    baselined: int = 0  # findings already recorded in the --baseline file
    findings_by_rule: dict[str, int] = field(default_factory=dict)
    findings_by_severity: dict[str, int] = field(default_factory=dict)


@dataclass
class AuditResult:
    config: Config
    dialect: str
    catalog: Catalog
    sites: list[WriteSite]
    findings: list[Finding]  # after configuration and inline suppressions
    diagnostics: list[Diagnostic]
    summary: Summary
    rules: list[Rule]
    unused_suppressions: list[Suppression] = field(default_factory=list)
    schema_sources: list[str] = field(default_factory=list)  # kinds of source read: "SQL files", "django migrations", ...
    idiom_sites: list[IdiomSite] = field(default_factory=list)
    unchecked_idioms: list[IdiomUnchecked] = field(default_factory=list)
    declared_dialects: Counter[str] = field(default_factory=Counter)  # the databases the ORM settings name

    @property
    def schema_found(self) -> bool:
        return bool(self.catalog.sources)

    @property
    def unchecked_groups(self) -> list[UncheckedGroup]:
        """What no rule could judge, grouped by reason, with what would resolve each group."""
        return unchecked_groups(self)

    @property
    def nothing_checked(self) -> bool:
        """Writes were found, and no rule could judge a single one: the audit has not passed."""
        s = self.summary
        return bool(s.write_sites or s.idioms_unchecked) and not s.checked and not s.idioms

    @property
    def failing(self) -> list[Finding]:
        """Findings at or above the configured fail-on severity."""
        return [f for f in self.findings if f.severity >= self.config.fail_on]


def project_dialect(config: Config, calls: list[SqlCall], declared: Counter[str] | None = None) -> str:
    """Configuration wins; then the one dialect the project configures its ORM for (a peewee
    database class, a Django ENGINE), when all such places agree; else the dialect most of the
    project's drivers speak."""
    if config.dialect:
        return config.dialect
    if declared and len(declared) == 1:
        return next(iter(declared))
    votes = Counter(DRIVER_DIALECT[c.driver] for c in calls if c.driver in DRIVER_DIALECT)
    return votes.most_common(1)[0][0] if votes else DEFAULT_DIALECT


class DialectVotes:
    """project_dialect before the scan, from the same evidence: the ORM's configured
    database, else each file's driver weighted by its execute calls (most of the write
    sites' votes)."""

    def __init__(self, root: Path):
        self.prefix = root.resolve().as_posix() + "/"  # the walk's paths are under the resolved root
        self.votes: Counter[str] = Counter()
        self.declared: Counter[str] = Counter()

    def add(self, path: Path, data: bytes) -> None:
        if not is_test_file(path.as_posix().removeprefix(self.prefix)):
            self.declared.update(declared_dialects(data))
        calls = len(execute_call_spans(data)) if may_hold_sql_call(data) else 0
        driver = module_driver(data.decode("utf-8", "replace")) if calls else None
        if driver in DRIVER_DIALECT:
            self.votes[DRIVER_DIALECT[driver]] += calls

    def winner(self) -> str:
        if len(self.declared) == 1:
            return next(iter(self.declared))
        return self.votes.most_common(1)[0][0] if self.votes else DEFAULT_DIALECT


def guessed_dialect(config: Config, python: list[Path]) -> str:
    if config.dialect:
        return config.dialect
    votes = DialectVotes(config.root)
    python_schema_files(python, votes.add)
    return votes.winner()


def read_schema_guessing(config: Config, python: list[Path], sql_files: list[Path]) -> SchemaReading:
    """The schema, read before the scan (one read of every file finds both the schema files
    and the dialect the code's drivers suggest)."""
    votes = DialectVotes(config.root)
    found = python_schema_files(python, None if config.dialect else votes.add)
    return read_schema_kept(config.root, python, sql_files, config.dialect or votes.winner(), found, config.cache)


def site_dialect(config: Config, call: SqlCall | IdiomCall, default: str) -> str:
    if config.dialect:
        return config.dialect
    return DRIVER_DIALECT.get(call.driver or "", default)


def exclusion(config: Config) -> Exclusion | None:
    """The walk's predicate for configured excludes and .gitignore (None when there are none)."""
    spec = config.excluded()
    if not spec.patterns:
        return None
    return lambda relative, is_dir: spec.match_file(relative + "/" if is_dir else relative)


def project_files(config: Config) -> tuple[list[Path], list[Path]]:
    """(Python files, schema files in migration order), from one walk of the tree."""
    found = walk_files(config.root, (".py", ".sql"), exclusion(config))
    python = [p for p in found[".py"] if config.included(p.relative_to(config.root).as_posix())] if config.include else found[".py"]
    if not config.schema:
        return python, migration_order(config.root, found[".sql"])
    schema: list[Path] = []
    for path in config.schema:
        schema.extend(discover_schema_files(path) if path.is_dir() else [path])
    return python, schema


def configured(findings: list[Finding], config: Config) -> list[Finding]:
    """Per-file ignores dropped, severity overrides applied."""
    result = []
    for finding in findings:
        if config.ignored_in_file(finding.rule, finding.location.path):
            continue
        severity = next((s for rule, s in config.severity.items() if finding.rule.startswith(rule)), None)
        result.append(replace(finding, severity=severity) if severity else finding)
    return result


def write_sites(call: SqlCall, dialect: str, catalog: Catalog) -> list[WriteSite]:
    """The write sites one execute-like call contributes (a script may hold several)."""
    if call.sql is None:
        return [WriteSite(call, dialect, None, SiteStatus.UNRESOLVED, call.unresolved_reason)]
    statements, error = parse_write_statements(call.sql, dialect)
    if error is not None:
        return [WriteSite(call, dialect, None, SiteStatus.UNPARSED, error)]
    sites = []
    for statement in statements:
        if TABLE in statement.unknown:  # nothing can be checked without the table
            reasons = "; ".join(dict.fromkeys(call.holes)) or "built at run time"
            sites.append(WriteSite(call, dialect, None, SiteStatus.UNRESOLVED, f"the table name is not known ({reasons})"))
            continue
        table = catalog.lookup(statement.table)
        status = SiteStatus.CHECKED if table else SiteStatus.UNKNOWN_TABLE
        detail = None if table else f"table {statement.table} is not in the schema"
        sites.append(WriteSite(call, dialect, statement, status, detail))
    return sites


def through_helpers(sites: list[WriteSite]) -> list[WriteSite]:
    """A project helper's statement depends on its parameters, so it is checked at each call of
    the helper, with that call's arguments. Where calls of it were followed, the statement is
    "checked at its calls" and not judged again on its own, with less known."""
    calls = Counter(place for s in sites for place in s.call.through)
    settled = []
    for site in sites:
        count = calls[site.call.location] if site.call.parameterised else 0
        if count:
            site = replace(site, statement=None, status=SiteStatus.AT_CALLS, detail=f"a helper's statement, checked at each of its {count} call(s)")
        settled.append(site)
    return settled


def resolve_model_names(call: SqlCall, table_names: dict[str, str], column_names: dict[str, str], dialect: str) -> SqlCall:
    """ORM constructs name their table by model class; the schema readers know which table that is.
    Their SQL is written in one neutral form, turned into what the ORM emits on `dialect`."""
    if not names_models(call.sql):
        return call
    sql, reason = resolve_models(call.sql, table_names, column_names, dialect)
    return replace(call, sql=for_dialect(sql, dialect) if sql else None, unresolved_reason=reason)


def run_rules(
    sites: list[WriteSite], catalog: Catalog, rules: list[Rule], idioms: list[IdiomSite] = (), failures: list[Diagnostic] | None = None,
    at_migration: dict[str, Catalog] | None = None,
) -> list[Finding]:
    """Every rule on every site it applies to (a site in a migration file against the catalog
    of that migration, `at_migration`). A rule that fails on one site is a diagnostic naming
    the site (appended to `failures`), never the end of the audit."""
    findings: list[Finding] = []
    statement_rules = [r for r in rules if not isinstance(r, IdiomRule)]
    idiom_rules = [r for r in rules if isinstance(r, IdiomRule)]
    of = lambda site: (at_migration or {}).get(site.location.path, catalog)  # noqa: E731
    jobs = [(rule, site, of(site).lookup(site.statement.table) if site.status is SiteStatus.CHECKED else None) for site in sites for rule in statement_rules]
    jobs += [(rule, idiom, of(idiom).lookup(idiom.table)) for idiom in idioms for rule in idiom_rules]
    for rule, site, table in jobs:
        try:
            findings.extend(rule.findings(site, table))
        except Exception as error:  # noqa: BLE001 - one site a rule cannot judge must not end the audit
            if failures is None:
                raise
            failures.append(Diagnostic(site.location.path, f"{rule.id} could not check this site ({type(error).__name__}: {error}); please report this", site.location.line, "internal-error"))
    return sorted(findings, key=lambda f: (f.location, f.rule))


def races_in_migrations_are_info(findings: list[Finding], rules: list[Rule], migration_files: set[str]) -> list[Finding]:
    """A migration runs once, in one migrate process: two writers cannot meet in its data
    migration, so a race found there (claim "races") is info, saying so. What fails there
    (an ON CONFLICT with no matching key) still fails the migration, and stays as it is."""
    racing = {rule.id for rule in rules if rule.claim == "races"}
    return [
        replace(f, severity=Severity.INFO, message=f"{f.message} (in a migration, which runs alone: no second writer)")
        if f.rule in racing and f.location.path in migration_files and f.severity > Severity.INFO else f
        for f in findings
    ]


def summarize(
    sites: list[WriteSite], findings: list[Finding], catalog: Catalog, rules: list[Rule], scan_seen: int, scan_parsed: int, n_schema: int
) -> Summary:
    status = Counter(s.status for s in sites)
    covered = {d for rule in rules for d in rule.dialects}
    return Summary(
        python_files=scan_seen,
        python_files_parsed=scan_parsed,
        schema_files=n_schema,
        tables=len(catalog.tables),
        write_sites=len(sites),
        resolved=status[SiteStatus.CHECKED] + status[SiteStatus.AT_CALLS],
        # A resolved site counts as checked only if some rule covers its dialect.
        checked=sum(1 for s in sites if s.status is SiteStatus.CHECKED and s.dialect in covered) + status[SiteStatus.AT_CALLS],
        partly_known=sum(1 for s in sites if s.status is SiteStatus.CHECKED and s.statement.unknown),
        unresolved=status[SiteStatus.UNRESOLVED],
        unparsed=status[SiteStatus.UNPARSED],
        unknown_tables=sorted({str(s.statement.table) for s in sites if s.status is SiteStatus.UNKNOWN_TABLE}),
        findings_by_rule=dict(sorted(Counter(f.rule for f in findings).items())),
        findings_by_severity={str(k): v for k, v in sorted(Counter(f.severity for f in findings).items(), reverse=True)},
    )


def run_audit(
    config: Config,
    rules: list[Rule] | None = None,
    changed: list[Path] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> AuditResult:
    """Audit the whole project; with `changed` files, report only what they touch."""
    rules = [r for r in (builtin_rules() if rules is None else rules) if config.rule_enabled(r.id)]
    python, files = project_files(config)
    touched = classify(changed, config.root) if changed is not None else None
    scan_jobs = dict(use_cache=config.cache, jobs=config.jobs or default_jobs(), sinks=config.sinks, idioms_in_tests=config.idioms_in_tests)
    whole_and_big = not config.database_url and touched is None and len(python) >= schema_in_background.MIN_FILES
    background = SchemaInBackground(partial(read_schema_guessing, config, python, files)) if whole_and_big and schema_in_background.available() else None
    # Which files can define a table (read here unless the child reads the schema).
    found = python_schema_files(python) if not config.database_url and background is None else None
    if touched is not None and not touched.schema:
        # No SQL schema file changed: findings can only be in the changed Python files (or,
        # if one of them is a model or migration, on its tables: rescanned below). Files
        # holding DDL are scanned too, since the catalog needs it.
        subset = [p for p in python if p.relative_to(config.root).as_posix() in touched.python]
        subset += [p for p in found.ddl if p not in subset] if found else []
        scan = scan_python_files(config.root, subset, progress, **scan_jobs)
    else:
        subset = None
        scan = scan_python_files(config.root, python, progress, **scan_jobs)
    if config.database_url:
        catalog = live_catalog(config.database_url, config.root)
        dialect = config.dialect or catalog.dialect
        files = []
        project = ProjectSchema(catalog, sources=["live database"])
    else:
        dialect = project_dialect(config, scan.calls, scan.declared)
        reading = background.reading(dialect) if background else None
        reading = reading or read_schema_kept(config.root, python, files, dialect, found, config.cache)
        project = finish_catalog(reading, scan.calls)
        catalog = project.catalog
    python_tables: set[str] | None = frozenset()
    if touched is not None:
        python_tables = python_schema_tables(touched, project.migration_files, project.model_tables)
        if subset is not None and (python_tables is None or python_tables):
            # A changed model or migration can break write sites anywhere: scan them all.
            scan = scan_python_files(config.root, python, progress, **scan_jobs)

    catalog.link_children()
    table_names, column_names = related_models(project.table_names, project.column_names, project.related_names)
    # A write inside a migration file is checked against the schema of its own migration.
    at_migration = project.at_migration
    catalog_of = lambda path: at_migration.get(path, catalog)  # noqa: E731
    sites, failures = [], []
    for call in scan.calls:
        call_dialect = site_dialect(config, call, dialect)
        try:
            resolved = resolve_model_names(call, table_names, column_names, call_dialect)
            sites.extend(write_sites(resolved, call_dialect, catalog_of(call.location.path)))
        except Exception as error:  # noqa: BLE001 - one write site must not end the audit
            reason = f"internal error {type(error).__name__}: {error}"
            sites.append(WriteSite(call, call_dialect, None, SiteStatus.UNPARSED, reason))
            failures.append(Diagnostic(call.location.path, f"write site not read: {reason}; please report this", call.location.line, "internal-error"))
    sites = through_helpers(sites)
    idioms, unchecked_idioms = [], []
    for call in scan.idioms:
        try:
            site = idiom_site(call, site_dialect(config, call, dialect), catalog_of(call.location.path), table_names, column_names)
        except Exception as error:  # noqa: BLE001 - one idiom must not end the audit
            site = IdiomUnchecked(call, f"internal error {type(error).__name__}: {error}")
            failures.append(Diagnostic(call.location.path, f"idiom not read: {site.reason}; please report this", call.location.line, "internal-error"))
        (idioms if isinstance(site, IdiomSite) else unchecked_idioms).append(site)
    findings = run_rules(sites, catalog, rules, idioms, failures, at_migration)
    findings = races_in_migrations_are_info(findings, rules, project.migration_files)
    findings, suppressed, unused = apply_suppressions(configured(findings, config), scan.suppressions)
    diagnostics = [*scan.diagnostics, *catalog.diagnostics, *failures]
    diagnostics += [
        Diagnostic(s.location.path, f"SQL could not be parsed: {s.detail}", s.location.line, "sql-parse-error")
        for s in sites
        if s.status is SiteStatus.UNPARSED
    ]
    if touched is not None:  # a commit hears only about what it touches
        findings = relevant(findings, touched, config.root, catalog, python_tables)
        unused = [s for s in unused if s.path in touched.python]
        diagnostics = [d for d in diagnostics if d.path in touched.all]
    summary = summarize(sites, findings, catalog, rules, scan.files_seen, scan.files_parsed, len(files))
    summary.suppressed = len(suppressed)
    summary.idioms = len(idioms)
    summary.idioms_unchecked = sum(1 for u in unchecked_idioms if u.upsert)
    summary.python_files_cached = scan.files_cached
    summary.tests_without_idioms = scan.tests_without_idioms
    return AuditResult(config, dialect, catalog, sites, findings, diagnostics, summary, rules, unused, project.sources, idioms, unchecked_idioms, scan.declared)

