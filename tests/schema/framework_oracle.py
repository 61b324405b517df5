"""Helpers for the schema-source oracle tests: run a framework's own tool in a subprocess
(so the audited project's modules never enter the test process) and read the live catalog."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from auditor.schema import introspect_postgres, introspect_sqlite
from auditor.schema.compare import comparable, foreign_key_set

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
BOOKKEEPING = {"alembic_version", "django_migrations", "django_content_type"}


def copy_example(name: str, destination: Path) -> Path:
    target = destination / name
    shutil.copytree(EXAMPLES / name, target, ignore=shutil.ignore_patterns("*.db", "__pycache__", ".upsert-audit-cache"))
    return target


def run_python(code: str, cwd: Path, env: dict | None = None) -> None:
    import os

    run = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=180,
                         env={**os.environ, **(env or {})})
    assert run.returncode == 0, run.stderr[-4000:]


def run_module(args: list[str], cwd: Path, env: dict | None = None) -> None:
    import os

    run = subprocess.run([sys.executable, "-m", *args], cwd=cwd, capture_output=True, text=True, timeout=180,
                         env={**os.environ, **(env or {})})
    assert run.returncode == 0, run.stderr[-4000:]


def sqlalchemy_url(dialect: str, pg_url: str | None, sqlite_path: Path) -> str:
    if dialect == "postgres":
        return pg_url.replace("postgresql://", "postgresql+psycopg://", 1)
    return f"sqlite:///{sqlite_path}"


def live_catalog(dialect: str, url: str | None, sqlite_path: Path):
    """`url`: the PostgreSQL or MariaDB test database's URL (unused for SQLite)."""
    if dialect == "mysql":
        from auditor.schema.live_mysql import introspect_mysql

        return introspect_mysql(url)
    return introspect_postgres(url) if dialect == "postgres" else introspect_sqlite(str(sqlite_path))


def live_comparable(dialect: str, pg_url: str | None, sqlite_path: Path, names: bool = True) -> dict:
    """The live catalog without the frameworks' own bookkeeping tables."""
    found = comparable(live_catalog(dialect, pg_url, sqlite_path), names)
    return {name: table for name, table in found.items() if name.split(".")[-1] not in BOOKKEEPING}


def live_foreign_keys(dialect: str, pg_url: str | None, sqlite_path: Path, names: bool = False) -> set[tuple]:
    """The live foreign keys, without those of the frameworks' own bookkeeping tables."""
    found = foreign_key_set(live_catalog(dialect, pg_url, sqlite_path), names)
    return {fk for fk in found if fk[0].split(".")[-1] not in BOOKKEEPING}
