"""`upsert-audit verify`: ask the live database whether each write site would run.

Nothing is written. PostgreSQL plans the statement (`PREPARE`, then `EXPLAIN
EXECUTE` with NULL arguments) inside a READ ONLY transaction that is rolled back:
planning is where the conflict arbiter is inferred, so 42P10 / 42704 / 42809
show up there (`PREPARE` alone does not check the arbiter). SQLite runs `EXPLAIN`
on a read-only connection (it rejects a bad target while preparing). MariaDB
runs `EXPLAIN` in a transaction that is rolled back (it refuses EXPLAIN INSERT in
a READ ONLY one; EXPLAIN does not execute the statement either way). Each site is then one of: fails (with
the database's error and SQLSTATE), plans fine, or could not be checked (and why).

A static finding the database contradicts is a bug in the tool or a schema source
out of date, so it is reported prominently, as are failures the static rules
missed, and the keys the live database and the schema files disagree on (drift).
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from auditor.dialects import MYSQL, POSTGRES, SQLITE
from auditor.engine import AuditResult
from auditor.schema.compare import KeyDrift, foreign_key_drift, key_drift
from auditor.schema.driver import import_driver
from auditor.findings import Finding
from auditor.model import Catalog, Location
from auditor.schema.live import LiveSchemaError, live_catalog, sqlite_path
from auditor.sites import SiteStatus, WriteSite
from auditor.sql.placeholders import normalize_placeholders, numbered_placeholders

# SQLSTATEs meaning "no usable arbiter" - what UPS001-UPS006 predict at planning.
ARBITER_ERRORS = {"42P10", "42704", "42809"}
SQLITE_ARBITER_ERROR = "ON CONFLICT clause does not match"


@dataclass(frozen=True)
class Probe:
    """What the database said about one statement."""

    status: str  # "fails" | "plans fine" | "not checked"
    error: str | None = None
    sqlstate: str | None = None

    @property
    def arbiter_failure(self) -> bool:
        return self.status == "fails" and (self.sqlstate in ARBITER_ERRORS or SQLITE_ARBITER_ERROR in (self.error or ""))


@dataclass(frozen=True)
class SiteVerdict:
    site: WriteSite
    probe: Probe
    findings: tuple[Finding, ...]  # static findings at this site
    contradiction: str | None = None  # the static analysis and the database disagree


@dataclass
class Verification:
    dialect: str
    verdicts: list[SiteVerdict] = field(default_factory=list)
    drift: list[KeyDrift] = field(default_factory=list)

    @property
    def failing(self) -> list[SiteVerdict]:
        return [v for v in self.verdicts if v.probe.status == "fails"]

    @property
    def contradictions(self) -> list[SiteVerdict]:
        return [v for v in self.verdicts if v.contradiction]


# --- probes, one per dialect ---------------------------------------------------------


def _placeholder_count(sql: str) -> int:
    return len(normalize_placeholders(sql).parameters)


class PostgresProber:
    def __init__(self, url: str):
        self.psycopg = import_driver(POSTGRES, url)
        self.conn = self.psycopg.connect(url, autocommit=True)

    def probe(self, sql: str) -> Probe:
        numbered = numbered_placeholders(sql)
        count = max((int(n) for n in re.findall(r"\$(\d+)", numbered)), default=0)
        arguments = "(" + ", ".join(["NULL"] * count) + ")" if count else ""
        try:
            with self.conn.transaction(force_rollback=True):
                self.conn.execute("SET TRANSACTION READ ONLY")
                self.conn.execute(f"PREPARE upsert_audit_verify AS {numbered}")
                self.conn.execute(f"EXPLAIN EXECUTE upsert_audit_verify{arguments}")
        except self.psycopg.Error as error:
            return Probe("fails", str(error).strip().splitlines()[0], error.sqlstate)
        finally:
            self.conn.execute("DEALLOCATE ALL")
        return Probe("plans fine")

    def close(self) -> None:
        self.conn.close()


class SqliteProber:
    def __init__(self, path: Path):
        self.conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)

    def probe(self, sql: str) -> Probe:
        normalized = normalize_placeholders(sql).sql
        try:
            self.conn.execute(f"EXPLAIN {normalized}", [None] * _placeholder_count(sql)).fetchall()
        except sqlite3.Error as error:
            return Probe("fails", str(error), getattr(error, "sqlite_errorname", None))
        return Probe("plans fine")

    def close(self) -> None:
        self.conn.close()


class MariadbProber:
    def __init__(self, url: str):
        self.pymysql = import_driver(MYSQL, url)
        parts = urlparse(url)
        self.conn = self.pymysql.connect(
            host=parts.hostname or "127.0.0.1", port=parts.port or 3306, user=parts.username or "root",
            password=parts.password or "", database=parts.path.lstrip("/") or None, autocommit=True,
        )

    def probe(self, sql: str) -> Probe:
        # PyMySQL interpolates on the client: %s with None becomes NULL, and a literal % must be %%.
        text = normalize_placeholders(sql).sql.replace("%", "%%").replace("?", "%s")
        try:
            with self.conn.cursor() as cur:
                # MariaDB refuses EXPLAIN INSERT in a READ ONLY transaction (1792); EXPLAIN
                # never executes the statement, and the transaction is rolled back anyway.
                cur.execute("START TRANSACTION")
                try:
                    cur.execute(f"EXPLAIN {text}", [None] * _placeholder_count(sql))
                finally:
                    cur.execute("ROLLBACK")
        except self.pymysql.MySQLError as error:
            code, message = (error.args + (None, None))[:2]
            return Probe("fails", f"{code}: {message}", str(code))
        return Probe("plans fine")

    def close(self) -> None:
        self.conn.close()


def prober_for(url: str, root: Path):
    scheme = urlparse(url).scheme.split("+")[0].lower()
    try:
        if scheme in ("postgres", "postgresql"):
            return POSTGRES, PostgresProber(url)
        if scheme == "sqlite":
            return SQLITE, SqliteProber(sqlite_path(url, root))
        if scheme in ("mysql", "mariadb"):
            return MYSQL, MariadbProber(url)
    except LiveSchemaError:
        raise
    except Exception as error:  # the driver says what is wrong: host, credentials, database
        raise LiveSchemaError(f"could not connect to the database: {str(error).strip().splitlines()[0]}") from None
    raise LiveSchemaError(f"--database-url: unknown scheme {scheme!r}; use postgresql://, sqlite:/// or mysql://")


# --- judging ---------------------------------------------------------------------------


def judge(site: WriteSite, probe: Probe, findings: tuple[Finding, ...], planning_rules: set[str]) -> SiteVerdict:
    confirmable = [f for f in findings if f.rule in planning_rules]
    contradiction = None
    if confirmable and probe.status == "plans fine":
        rules = ", ".join(sorted({f.rule for f in confirmable}))
        contradiction = f"{rules} says this fails, but the database plans it fine: a tool bug, or the schema files are out of date"
    elif probe.arbiter_failure and not confirmable:
        contradiction = "the database finds no conflict arbiter, but no rule flagged this site: a tool bug, or the schema files are out of date"
    return SiteVerdict(site, probe, findings, contradiction)


def schema_drift(files: Catalog, live: Catalog) -> list[KeyDrift]:
    sides = ("schema files only", "live database only")
    return key_drift(files, live, *sides) + foreign_key_drift(files, live, *sides)


def verify(result: AuditResult, url: str) -> Verification:
    dialect, prober = prober_for(url, result.config.root)
    by_location: dict[Location, list[Finding]] = {}
    for finding in result.findings:
        by_location.setdefault(finding.location, []).append(finding)
    planning_rules = {r.id for r in result.rules if r.fails_at_planning}
    verification = Verification(dialect)
    try:
        for site in result.sites:
            findings = tuple(by_location.get(site.location, ()))
            if site.statement is None:
                reason = "the SQL is not a constant" if site.status is SiteStatus.UNRESOLVED else f"the SQL could not be parsed: {site.detail}"
                probe = Probe("not checked", reason)
            elif site.dialect != dialect:
                probe = Probe("not checked", f"the site is {site.dialect} SQL, the database is {dialect}")
            elif site.statement.unknown:
                probe = Probe("not checked", f"part of the SQL is built at run time ({', '.join(sorted(site.statement.unknown))})")
            else:
                probe = prober.probe(site.statement.normalized_sql)
            verification.verdicts.append(judge(site, probe, findings, planning_rules))
    finally:
        prober.close()
    if result.catalog.sources:
        verification.drift = schema_drift(result.catalog, live_catalog(url, result.config.root))
    return verification
