"""DDL in Python with parts built at run time (issue 16): applied when the unknown parts are a
column type, a CHECK or a non-unique index; reported when they name a table, a column or a key.
The oracle: the same statements, with any values in the holes, run on the live database."""

from __future__ import annotations

import sqlite3

import pytest

from auditor.config import load_config
from auditor.engine import run_audit
from auditor.schema import introspect_postgres, introspect_sqlite
from auditor.schema.compare import comparable

APP = '''
import {driver}

STATUSES = load_statuses()


def migrate(db, table, column):
    db.execute(f"""
        CREATE TABLE IF NOT EXISTS payments (
            hash TEXT NOT NULL,
            wallet TEXT NOT NULL,
            amount {{db.big_int}} NOT NULL,
            status INTEGER NOT NULL CHECK ({{" OR ".join(f"status = {{s}}" for s in STATUSES)}}),
            created TIMESTAMP DEFAULT {{db.timestamp_now}},
            PRIMARY KEY (hash),
            UNIQUE (wallet, hash)
        )
    """)
    for index in ["amount", "status"]:
        db.execute(f"CREATE INDEX IF NOT EXISTS idx_payments_{{index}} ON payments ({{index}})")
    db.execute(f"CREATE UNIQUE INDEX payments_by_{{column}} ON payments ({{column}})")
    db.execute(f"ALTER TABLE {{table}} ADD CONSTRAINT t_wallet UNIQUE (wallet)")
    db.execute(f"ALTER TABLE {{table}} ADD {{column}} {{db.text_type}}")
    db.execute(f"ALTER TABLE {{table}} ADD COLUMN {{column}} TEXT UNIQUE")
'''

# What the database runs for one choice of the unknown parts (the key-deciding statements left
# out, and the ADD of a plain column to a table not known, which the audit skips: no key).
FILLED = '''
CREATE TABLE IF NOT EXISTS payments (
    hash TEXT NOT NULL,
    wallet TEXT NOT NULL,
    amount {big_int} NOT NULL,
    status INTEGER NOT NULL CHECK (status = 1 OR status = 2),
    created TIMESTAMP DEFAULT {now},
    PRIMARY KEY (hash),
    UNIQUE (wallet, hash)
);
CREATE INDEX IF NOT EXISTS idx_payments_amount ON payments (amount);
CREATE INDEX IF NOT EXISTS idx_payments_status ON payments (status);
'''


@pytest.mark.parametrize("dialect", ["postgres", "sqlite"])
def test_ddl_with_unknown_types_and_checks_is_read(dialect, make_project, request, tmp_path):
    driver = "psycopg" if dialect == "postgres" else "sqlite3"
    project = make_project({"app/migrations.py": APP.format(driver=driver)})
    result = run_audit(load_config(project, cache=False))
    if dialect == "postgres":
        url = request.getfixturevalue("pg_database")
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(FILLED.format(big_int="BIGINT", now="now()"))
        live = introspect_postgres(url)
    else:
        path = tmp_path / "live.db"
        with sqlite3.connect(path) as conn:
            conn.executescript(FILLED.format(big_int="INTEGER", now="CURRENT_TIMESTAMP"))
        conn.close()
        live = introspect_sqlite(str(path))
    assert comparable(result.catalog) == comparable(live)
    errors = sorted((d.line, d.message) for d in result.diagnostics if d.kind == "schema-source-error")
    assert errors == [
        (21, "DDL not read: part of it is built at run time (name 'column' is a function parameter)"),
        (22, "DDL not read: part of it is built at run time (name 'table' is a function parameter)"),
        (24, "DDL not read: part of it is built at run time (name 'table' is a function parameter)"),
    ]  # line 23, a plain column added to a table not known, adds no key: skipped without an error
