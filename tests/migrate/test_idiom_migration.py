"""The whole fix for a racy idiom whose table lacks the key, on SQLite: `migrate` writes the
key its lookup needs (keeping every row), after which `fix` can rewrite the idiom into one
atomic upsert, and the rewritten code saves one row per key on the migrated database."""

from __future__ import annotations

import importlib.util
import sqlite3

from auditor.cli import main
from auditor.config import load_config
from auditor.engine import run_audit

SCHEMA = "CREATE TABLE settings (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, name TEXT NOT NULL, value TEXT);\n"
APP = '''import sqlite3


def save(conn, user_id, name, value):
    row = conn.execute("SELECT id FROM settings WHERE user_id = ? AND name = ?", (user_id, name)).fetchone()
    if row is None:
        conn.execute("INSERT INTO settings (user_id, name, value) VALUES (?, ?, ?)", (user_id, name, value))
    else:
        conn.execute("UPDATE settings SET value = ? WHERE user_id = ? AND name = ?", (value, user_id, name))
'''


def findings(project):
    return [(f.rule, f.message) for f in run_audit(load_config(project, cache=False)).findings]


def test_migrate_then_fix_a_check_then_insert_without_a_key(make_project, capsys):
    project = make_project({"migrations/001_schema.sql": SCHEMA, "app.py": APP})
    conn = sqlite3.connect(project / "app.db", isolation_level=None)
    conn.executescript(SCHEMA)
    rows = [(1, "theme", "dark"), (1, "theme", "light"), (1, "lang", "en"), (2, "theme", "dark"), (2, "theme", "dark")]
    conn.executemany("INSERT INTO settings (user_id, name, value) VALUES (?, ?, ?)", rows)  # the race already struck

    [(rule, message)] = findings(project)
    assert rule == "UPS101" and "no unique key" in message
    assert main(["fix", str(project), "--write", "--no-cache"]) == 1  # no key yet: a manual fix
    assert "add it first (`upsert-audit migrate`)" in capsys.readouterr().err

    assert main(["migrate", str(project), "--no-cache"]) == 0
    [migration] = sorted((project / "migrations").glob("002_*.sql"))
    assert "user_id" in migration.name and "name" in migration.name
    conn.executescript(migration.read_text())
    kept = conn.execute("SELECT user_id, name, value FROM settings ORDER BY user_id, name").fetchall()
    archived = conn.execute("SELECT count(*) FROM settings_dedup_archive").fetchone()[0]
    assert kept == [(1, "lang", "en"), (1, "theme", "light"), (2, "theme", "dark")] and len(kept) + archived == len(rows)

    [(rule, message)] = findings(project)  # the key exists now: the race would raise, not duplicate
    assert rule == "UPS101" and "stops a duplicate" in message
    assert main(["fix", str(project), "--write", "--no-cache"]) == 0
    assert findings(project) == []

    spec = importlib.util.spec_from_file_location("fixed_app", project / "app.py")
    app = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(app)  # our own test data, rewritten by fix: runs against the database
    app.save(conn, 1, "theme", "blue")
    app.save(conn, 3, "theme", "red")
    assert conn.execute("SELECT user_id, name, value FROM settings ORDER BY user_id, name").fetchall() == [
        (1, "lang", "en"), (1, "theme", "blue"), (2, "theme", "dark"), (3, "theme", "red"),
    ]
    conn.close()


DELETE_THEN_INSERT = '''import sqlite3


def grant(conn, group_id, page_id, permission):
    conn.execute("DELETE FROM page_permissions WHERE group_id = ?", (group_id,))
    conn.execute("INSERT INTO page_permissions (group_id, page_id, permission) VALUES (?, ?, ?)", (group_id, page_id, permission))
'''


def test_a_delete_then_insert_gets_no_guessed_key(make_project, capsys):
    """A DELETE by group_id may clear a group's whole set of rows (wagtail's page permissions):
    a unique key on group_id would archive all but one of each set, so neither migrate nor fix
    adds one; both say why."""
    project = make_project({
        "migrations/001_schema.sql": "CREATE TABLE page_permissions (id INTEGER PRIMARY KEY, group_id INTEGER NOT NULL, page_id INTEGER, permission TEXT);\n",
        "app.py": DELETE_THEN_INSERT,
    })
    [(rule, message)] = findings(project)
    assert rule == "UPS104" and "no unique key" in message
    assert main(["migrate", str(project), "--no-cache"]) == 0
    assert sorted(p.name for p in (project / "migrations").iterdir()) == ["001_schema.sql"]
    assert "the DELETE by group_id may remove several rows" in capsys.readouterr().err
    assert main(["fix", str(project), "--write", "--unsafe-fixes", "--no-cache"]) == 1
    assert "the DELETE by group_id may remove several rows" in capsys.readouterr().err
