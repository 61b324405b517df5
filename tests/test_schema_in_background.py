"""The schema read in a child process while the code is scanned gives the same audit as
reading it after the scan; a wrong guess of the dialect is read again, never used."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor import schema_in_background
from auditor.config import load_config
from auditor.engine import guessed_dialect, run_audit
from auditor.schema.sources import read_schema
from auditor.schema_in_background import SchemaInBackground

pytestmark = pytest.mark.skipif(not schema_in_background.available(), reason="needs fork")

SQLITE_APP = {
    "schema.sql": "CREATE TABLE events (id INTEGER PRIMARY KEY, user_id INTEGER, kind TEXT);\n",
    "app.py": (
        "import sqlite3\n\n\ndef save(conn, user_id, kind):\n"
        "    conn.execute('INSERT INTO events (user_id, kind) VALUES (?, ?) ON CONFLICT (user_id) DO UPDATE SET kind = excluded.kind', (user_id, kind))\n"
    ),
    "models.py": (
        "from django.db import models\n\n\nclass Tag(models.Model):\n    name = models.CharField(max_length=20, unique=True)\n\n"
        "    class Meta:\n        app_label = 'shop'\n"
    ),
}


def _audit(root: Path):
    result = run_audit(load_config(root))
    return (
        result.dialect,
        sorted((f.rule, f.location.path, f.location.line, f.message) for f in result.findings),
        sorted(str(name) for name in result.catalog.tables),
        result.summary.checked,
    )


def test_reading_in_the_background_gives_the_same_audit(make_project, monkeypatch):
    root = make_project(SQLITE_APP)
    monkeypatch.setattr(schema_in_background, "MIN_FILES", 10_000)
    after_the_scan = _audit(root)
    started = []
    monkeypatch.setattr(schema_in_background, "MIN_FILES", 1)
    monkeypatch.setattr("auditor.engine.SchemaInBackground", lambda read: started.append(1) or SchemaInBackground(read))
    assert _audit(root) == after_the_scan
    assert started == [1]
    assert after_the_scan[0] == "sqlite" and after_the_scan[3] == 1  # the sqlite3 driver decided the dialect
    assert any(rule == "UPS001" for rule, *_ in after_the_scan[1])


def test_the_dialect_is_guessed_from_the_drivers_of_the_files_that_execute(make_project):
    root = make_project({
        "a.py": "import sqlite3\n\ndef f(c):\n    c.execute('INSERT INTO t VALUES (1)')\n    c.execute('INSERT INTO t VALUES (2)')\n",
        "b.py": "import pymysql\n\ndef g(c):\n    c.execute('INSERT INTO t VALUES (3)')\n",
        "c.py": "import psycopg\n",  # imports a driver but runs nothing here: no vote
    })
    config = load_config(root)
    assert guessed_dialect(config, sorted(root.glob("*.py"))) == "sqlite"
    assert guessed_dialect(load_config(root, dialect="mysql"), sorted(root.glob("*.py"))) == "mysql"


def test_a_reading_in_another_dialect_or_a_failed_one_is_not_used(make_project):
    root = make_project(SQLITE_APP)
    python = sorted(root.glob("*.py"))
    in_postgres = SchemaInBackground(lambda: read_schema(root, python, [root / "schema.sql"], "postgres"))
    assert in_postgres.reading("sqlite") is None
    in_sqlite = SchemaInBackground(lambda: read_schema(root, python, [root / "schema.sql"], "sqlite"))
    reading = in_sqlite.reading("sqlite")
    assert reading is not None and "main.events" in {str(n) for n in reading.project.catalog.tables}

    def broken():
        raise RuntimeError("a reader's surprise")

    assert SchemaInBackground(broken).reading("sqlite") is None  # read again in the parent, where it surfaces
