"""A loop variable over a literal collection is each of its items in turn (issue 15/16): SQL
run in a loop is checked statement by statement, and DDL kept in a list or dict (here, or
imported from another module) and run in a loop is schema. The DDL is run for real on
PostgreSQL by the same loop, and the catalog the audit builds equals what the database has."""

from __future__ import annotations

import importlib.util
import json
import sys

import pytest

from auditor.cli import main
from auditor.schema.compare import comparable

psycopg = pytest.importorskip("psycopg")

SCHEMA_MODULE = '''
TABLES = {
    "users": "CREATE TABLE users (id int PRIMARY KEY, email text NOT NULL UNIQUE)",
    "tags": "CREATE TABLE tags (id int PRIMARY KEY, name text NOT NULL)",
}
INDEXES = (
    "CREATE UNIQUE INDEX tags_name ON tags (name)",
)
'''

DB_MODULE = '''
import psycopg
from app.schema import INDEXES, TABLES

LATE = ["CREATE TABLE notes (id int PRIMARY KEY, body text NOT NULL)"]


def migrate(conn):
    for name, ddl in TABLES.items():
        conn.execute(ddl)
    for statement in INDEXES:
        conn.execute(statement)
    for position, statement in enumerate(LATE):
        conn.execute(statement)


def save(conn, name, email, body):
    for sql in [
        "INSERT INTO tags (id, name) VALUES (1, %s) ON CONFLICT (name) DO NOTHING",
        "INSERT INTO notes (id, body) VALUES (1, %s) ON CONFLICT (body) DO NOTHING",
    ]:
        conn.execute(sql, (name,))
'''


def write_project(root):
    (root / "app").mkdir(parents=True)
    (root / "app" / "__init__.py").write_text("")
    (root / "app" / "schema.py").write_text(SCHEMA_MODULE)
    (root / "app" / "db.py").write_text(DB_MODULE)
    return root


def test_ddl_run_in_loops_is_the_schema_the_database_gets(tmp_path, pg_database, capsys):
    project = write_project(tmp_path / "project")
    sys.path.insert(0, str(project))
    try:
        spec = importlib.util.spec_from_file_location("app.db", project / "app" / "db.py")
        db = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(db)
        with psycopg.connect(pg_database, autocommit=True) as conn:
            db.migrate(conn)  # the oracle: the project's own loops, on PostgreSQL
    finally:
        sys.path.remove(str(project))
        sys.modules.pop("app.schema", None)
        sys.modules.pop("app", None)
    from auditor.config import load_config
    from auditor.engine import run_audit
    from auditor.schema.live import live_catalog

    static = run_audit(load_config(project, cache=False, dialect="postgres")).catalog
    assert comparable(static) == comparable(live_catalog(pg_database, project))

    main(["check", str(project), "--format", "json", "--no-cache", "--dialect", "postgres"])
    doc = json.loads(capsys.readouterr().out)
    # Each statement of the loop in save() is checked: tags has its key, notes has none.
    assert [(f["rule"], f["line"]) for f in doc["findings"] if f["severity"] != "info"] == [("UPS001", 22)]
    assert sorted(s["status"] for s in doc["sites"] if s["path"] == "app/db.py") == ["checked", "checked"]
