"""The database is the oracle for the bundled example.

Build the example's schema on a real PostgreSQL from its own migrations, then ask
PostgreSQL to plan every write site the audit found (PREPARE + EXPLAIN EXECUTE with
NULL arguments, inside a rolled-back transaction: planning is where the conflict
arbiter is inferred). The sites the audit flags must be exactly the ones PostgreSQL
rejects - and after the fix migration, none may be flagged or rejected.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from auditor.config import load_config
from auditor.engine import run_audit
from auditor.schema import discover_schema_files
from auditor.sites import SiteStatus
from auditor.sql.placeholders import numbered_placeholders

psycopg = pytest.importorskip("psycopg")

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "avatar_app"

# The incident's fix, as `upsert-audit migrate` wrote it and as the example keeps it.
FIX_MIGRATION = EXAMPLE / "fix" / "001_add_unique_avatar_configurations_user_id.sql"


def apply_migrations(conn, folder: Path) -> None:
    for path in discover_schema_files(folder):
        conn.execute(path.read_text())


def planning_error(conn, sql: str) -> str | None:
    """SQLSTATE PostgreSQL raises when planning `sql`, or None if it plans fine."""
    numbered = numbered_placeholders(sql)
    n_params = max((int(n) for n in re.findall(r"\$(\d+)", numbered)), default=0)
    args = "(" + ", ".join(["NULL"] * n_params) + ")" if n_params else ""
    try:
        with conn.transaction(force_rollback=True):
            conn.execute(f"PREPARE upsert_audit_probe AS {numbered}")
            conn.execute(f"EXPLAIN EXECUTE upsert_audit_probe{args}")
    except psycopg.Error as error:
        return error.sqlstate
    finally:
        conn.execute("DEALLOCATE ALL")
    return None


def audit_and_plan(project: Path, database_url: str, migrated: bool = False):
    result = run_audit(load_config(project))
    sites = [s for s in result.sites if s.status is SiteStatus.CHECKED]
    with psycopg.connect(database_url, autocommit=True) as conn:
        if not migrated:
            apply_migrations(conn, project / "migrations")
        rejected = {s.location: planning_error(conn, s.statement.normalized_sql) for s in sites}
    return result, sites, rejected


def test_flagged_sites_are_exactly_those_postgres_rejects(pg_database):
    result, sites, rejected = audit_and_plan(EXAMPLE, pg_database)
    assert len(sites) == 5
    flagged = {f.location for f in result.findings}
    failing = {loc for loc, state in rejected.items() if state is not None}
    assert failing == flagged
    assert {rejected[loc] for loc in failing} == {"42P10"}


def test_the_checked_in_fix_is_what_migrate_generates(tmp_path):
    from auditor.cli import main

    assert main(["migrate", str(EXAMPLE), "-o", str(tmp_path), "--no-cache"]) == 0
    assert (tmp_path / FIX_MIGRATION.name).read_text() == FIX_MIGRATION.read_text()


def test_after_the_fix_migration_audit_and_database_agree_it_is_clean(pg_database, tmp_path):
    import subprocess

    project = tmp_path / "avatar_app"
    shutil.copytree(EXAMPLE, project)
    with psycopg.connect(pg_database, autocommit=True) as conn:
        apply_migrations(conn, project / "migrations")
    # The migration builds its index CONCURRENTLY, outside a transaction: psql runs it, as a user would.
    run = subprocess.run(["psql", pg_database, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", str(FIX_MIGRATION)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    shutil.copy(FIX_MIGRATION, project / "migrations" / "011_add_unique_avatar_configurations_user_id.sql")
    result, sites, rejected = audit_and_plan(project, pg_database, migrated=True)
    assert result.findings == []
    assert len(sites) == 5
    assert all(state is None for state in rejected.values()), rejected
