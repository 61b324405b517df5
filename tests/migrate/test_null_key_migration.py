"""UPS010's migration: a key under which rows whose key holds NULL are duplicates too.

PostgreSQL 15+: UNIQUE NULLS NOT DISTINCT, built concurrently beside the old key; the
NULL-keyed duplicates are archived first (the most recent kept), and the upsert that kept
inserting now updates. SQLite has no such key: a partial unique index over the other columns
for the NULL rows, with the stated trade-off (that upsert now fails instead of duplicating).
Either way nothing is lost, the re-audit no longer reports UPS010, and a second run is a no-op.
"""

from __future__ import annotations

import sqlite3
import subprocess

import psycopg

from auditor.cli import main
from auditor.config import load_config
from auditor.engine import run_audit

ROWS = [  # (tenant_id, key, value, updated_at): NULL-tenant duplicates, the newest last
    (None, "theme", "dark", "2026-01-01"), (None, "theme", "light", "2026-03-01"), (None, "theme", "blue", "2026-02-01"),
    (None, "lang", "en", "2026-01-01"), (1, "theme", "dark", "2026-01-01"), (2, "theme", "dark", "2026-01-01"),
]
KEPT = [(None, "lang", "en"), (None, "theme", "light"), (1, "theme", "dark"), (2, "theme", "dark")]


def rules(project) -> list[str]:
    return [f.rule for f in run_audit(load_config(project, cache=False)).findings]


def test_postgres_nulls_not_distinct(make_project, pg_database):
    schema = ("CREATE TABLE prefs (id serial PRIMARY KEY, tenant_id int, key text NOT NULL, value text, "
              "updated_at timestamptz, UNIQUE (tenant_id, key));\n")
    upsert = ("INSERT INTO prefs (tenant_id, key, value) VALUES (%s, %s, %s) "
              "ON CONFLICT (tenant_id, key) DO UPDATE SET value = EXCLUDED.value")
    app = f'import psycopg\n\n\ndef save(conn, tenant, key, value):\n    conn.execute("{upsert}", (tenant, key, value))\n'
    project = make_project({"migrations/001_schema.sql": schema, "app.py": app})
    assert rules(project) == ["UPS010"]
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute(schema)
        conn.cursor().executemany("INSERT INTO prefs (tenant_id, key, value, updated_at) VALUES (%s, %s, %s, %s)", ROWS)

    assert main(["migrate", str(project), "--no-cache"]) == 0
    [migration] = sorted((project / "migrations").glob("002_*nulls_not_distinct.sql"))
    for _ in range(2):  # the second run changes nothing
        run = subprocess.run(["psql", pg_database, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", str(migration)], capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
        with psycopg.connect(pg_database, autocommit=True) as conn:
            assert conn.execute("SELECT tenant_id, key, value FROM prefs ORDER BY tenant_id NULLS FIRST, key").fetchall() == KEPT
            assert conn.execute("SELECT count(*) FROM prefs_dedup_archive").fetchone()[0] == len(ROWS) - len(KEPT)
    with psycopg.connect(pg_database, autocommit=True) as conn:
        definition = conn.execute("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'prefs_tenant_id_key_nnd_key'").fetchone()
        assert definition == ("UNIQUE NULLS NOT DISTINCT (tenant_id, key)",)
        for value in ("red", "green"):  # the upsert that kept inserting now updates
            conn.execute(upsert, (None, "theme", value))
        assert conn.execute("SELECT value FROM prefs WHERE tenant_id IS NULL AND key = 'theme'").fetchall() == [("green",)]
    assert rules(project) == []


def test_sqlite_partial_index_for_the_null_rows(make_project):
    schema = ("CREATE TABLE prefs (id INTEGER PRIMARY KEY, tenant_id INTEGER, key TEXT NOT NULL, value TEXT, "
              "updated_at TEXT, UNIQUE (tenant_id, key));\n")
    upsert = ("INSERT INTO prefs (tenant_id, key, value) VALUES (?, ?, ?) "
              "ON CONFLICT (tenant_id, key) DO UPDATE SET value = excluded.value")
    app = f'import sqlite3\n\n\ndef save(conn, tenant, key, value):\n    conn.execute("{upsert}", (tenant, key, value))\n'
    project = make_project({"migrations/001_schema.sql": schema, "app.py": app})
    assert rules(project) == ["UPS010"]
    conn = sqlite3.connect(project / "app.db", isolation_level=None)
    conn.executescript(schema)
    conn.executemany("INSERT INTO prefs (tenant_id, key, value, updated_at) VALUES (?, ?, ?, ?)", ROWS)

    assert main(["migrate", str(project), "--no-cache"]) == 0
    [migration] = sorted((project / "migrations").glob("002_*where_null.sql"))
    text = migration.read_text()
    assert "Trade-off" in text and 'ON "prefs" ("key") WHERE "tenant_id" IS NULL' in text
    for _ in range(2):
        conn.executescript(text)
        assert conn.execute("SELECT tenant_id, key, value FROM prefs ORDER BY tenant_id NULLS FIRST, key").fetchall() == KEPT
        assert conn.execute("SELECT count(*) FROM prefs_dedup_archive").fetchone()[0] == len(ROWS) - len(KEPT)
    try:  # the stated trade-off: no more silent duplicates, an error instead
        conn.execute(upsert, (None, "theme", "red"))
        raise AssertionError("the NULL-keyed upsert inserted a duplicate")
    except sqlite3.IntegrityError as error:
        assert "UNIQUE constraint failed" in str(error)
    conn.execute(upsert, (1, "theme", "red"))  # keys without NULL upsert as before
    assert conn.execute("SELECT value FROM prefs WHERE tenant_id = 1").fetchall() == [("red",)]
    conn.close()
    assert rules(project) == []
