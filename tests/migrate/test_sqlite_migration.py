"""`upsert-audit migrate` on SQLite: the generated migration, run by SQLite itself with
foreign keys enforced, adds the key without losing a row."""

from __future__ import annotations

import json
import random
import sqlite3

from auditor.cli import main

SCHEMA = """
CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);
CREATE TABLE avatar_configurations (
    id INTEGER PRIMARY KEY,
    user_id INTEGER REFERENCES users (id),
    persona TEXT NOT NULL,
    updated_at TEXT
);
CREATE TABLE avatar_events (id INTEGER PRIMARY KEY, config_id INTEGER NOT NULL REFERENCES avatar_configurations (id) ON DELETE CASCADE);
"""
UPSERT = ("INSERT INTO avatar_configurations (user_id, persona) VALUES (?, ?) "
          "ON CONFLICT (user_id) DO UPDATE SET persona = excluded.persona")
APP = f'import sqlite3\n\n\ndef save(conn, user_id, persona):\n    conn.execute("{UPSERT}", (user_id, persona))\n'


def connect(path):
    conn = sqlite3.connect(path, isolation_level=None)  # the migration manages its own transaction
    conn.execute("PRAGMA foreign_keys = ON")  # so a delete before re-pointing would cascade
    return conn


def fill(conn):
    rng = random.Random(3)
    conn.executemany("INSERT INTO users (id, email) VALUES (?, ?)", [(u, f"u{u}") for u in range(1, 101)])
    rows = [(u, f"p{rng.randint(0, 99)}", rng.choice([None, f"2026-01-0{rng.randint(1, 4)}"]))
            for u in range(1, 101) for _ in range(rng.choice([0, 1, 2, 3]))]
    rows += [(None, "orphan", None)] * 3
    rng.shuffle(rows)
    conn.executemany("INSERT INTO avatar_configurations (user_id, persona, updated_at) VALUES (?, ?, ?)", rows)
    ids = [r[0] for r in conn.execute("SELECT id FROM avatar_configurations")]
    conn.executemany("INSERT INTO avatar_events (config_id) VALUES (?)", [(rng.choice(ids),) for _ in range(150)])


def test_sqlite_migration_keeps_every_row_and_is_idempotent(make_project, capsys):
    project = make_project({"migrations/001_schema.sql": SCHEMA, "app.py": APP})
    database = project / "app.db"
    conn = connect(database)
    conn.executescript(SCHEMA)
    fill(conn)
    configs = conn.execute("SELECT id, user_id, persona, updated_at FROM avatar_configurations ORDER BY id").fetchall()
    events = conn.execute("SELECT id, config_id FROM avatar_events ORDER BY id").fetchall()

    assert main(["migrate", str(project), "--no-cache"]) == 0
    [migration] = sorted((project / "migrations").glob("002_*.sql"))
    conn.executescript(migration.read_text())

    after = conn.execute("SELECT id, user_id, persona, updated_at FROM avatar_configurations ORDER BY id").fetchall()
    archive = conn.execute("SELECT id, user_id, persona, updated_at, dedup_kept_id FROM avatar_configurations_dedup_archive ORDER BY id").fetchall()
    events_after = conn.execute("SELECT id, config_id FROM avatar_events ORDER BY id").fetchall()
    newest = {}
    for row in configs:  # updated_at DESC NULLS LAST, then id DESC
        if row[1] is not None:
            best = newest.get(row[1])
            if best is None or (row[3] is not None, row[3] or "", row[0]) > (best[3] is not None, best[3] or "", best[0]):
                newest[row[1]] = row
    assert sorted(r for r in after if r[1] is not None) == sorted(newest.values())
    assert len([r for r in after if r[1] is None]) == 3
    assert sorted(after + [r[:4] for r in archive]) == configs and len(archive) > 20
    replacement = {r[0]: newest[r[1]][0] if r[1] is not None else r[0] for r in configs}
    assert events_after == [(i, replacement[c]) for i, c in events]  # none lost to the cascade

    conn.execute(UPSERT, (1, "owl"))  # the incident's upsert now runs
    assert conn.execute("SELECT count(*) FROM avatar_configurations WHERE user_id = 1").fetchone() == (1,)
    before = conn.execute("SELECT count(*) FROM avatar_configurations_dedup_archive").fetchone()
    conn.executescript(migration.read_text())  # again: nothing changes
    assert conn.execute("SELECT count(*) FROM avatar_configurations_dedup_archive").fetchone() == before
    conn.close()

    capsys.readouterr()
    main(["check", str(project), "--format", "json", "--no-cache"])
    assert "UPS001" not in [f["rule"] for f in json.loads(capsys.readouterr().out)["findings"]]


def test_which_row_is_kept_and_where_the_rest_go_are_configurable(make_project):
    schema = "CREATE TABLE prefs (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, v TEXT, created_at TEXT, updated_at TEXT);"
    code = ('import sqlite3\nconn.execute("INSERT INTO prefs (user_id, v) VALUES (?, ?) '
            'ON CONFLICT (user_id) DO UPDATE SET v = excluded.v", (1, "x"))\n')
    project = make_project({
        "migrations/001.sql": schema, "app.py": code,
        "pyproject.toml": '[tool.upsert-audit]\nkeep-newest-by = ["created_at"]\narchive-table = "removed_{table}"\n',
    })
    conn = connect(project / "app.db")
    conn.executescript(schema)
    conn.executemany("INSERT INTO prefs (id, user_id, v, created_at, updated_at) VALUES (?, ?, ?, ?, ?)", [
        (1, 1, "created last", "2026-03-01", "2026-01-01"),
        (2, 1, "updated last", "2026-01-01", "2026-04-01"),
    ])
    assert main(["migrate", str(project), "--no-cache"]) == 0
    [migration] = (project / "migrations").glob("002_*.sql")
    conn.executescript(migration.read_text())
    assert conn.execute("SELECT v FROM prefs").fetchall() == [("created last",)]  # created_at decides, not updated_at
    assert conn.execute("SELECT v FROM removed_prefs").fetchall() == [("updated last",)]


def test_bad_migrate_settings_name_the_key(make_project, capsys):
    project = make_project({"app.py": "x = 1\n", "pyproject.toml": '[tool.upsert-audit]\narchive-table = "archive"\n'})
    assert main(["migrate", str(project)]) == 2
    assert "`archive-table` must be a table name containing {table}" in capsys.readouterr().err
    (project / "pyproject.toml").unlink()
    assert main(["migrate", str(project), "--keep-newest-by", "1bad"]) == 2
    assert "`--keep-newest-by` must list column names" in capsys.readouterr().err


def test_a_dry_run_numbers_several_migrations_as_a_real_run_would(make_project, capsys):
    schema = "CREATE TABLE a (id INTEGER PRIMARY KEY, k TEXT);\nCREATE TABLE b (id INTEGER PRIMARY KEY, k TEXT);\n"
    code = ('import sqlite3\n'
            'conn.execute("INSERT INTO a (k) VALUES (?) ON CONFLICT (k) DO NOTHING")\n'
            'conn.execute("INSERT INTO b (k) VALUES (?) ON CONFLICT (k) DO NOTHING")\n')
    project = make_project({"migrations/001.sql": schema, "app.py": code})
    assert main(["migrate", str(project), "--dry-run", "--no-cache"]) == 0
    printed = [line for line in capsys.readouterr().out.splitlines() if line.startswith("-- migrations/")]
    assert printed == ["-- migrations/002_add_unique_a_k.sql", "-- migrations/003_add_unique_b_k.sql"]
    assert sorted(p.name for p in (project / "migrations").iterdir()) == ["001.sql"]  # nothing written
    assert main(["migrate", str(project), "--no-cache"]) == 0
    assert sorted(p.name for p in (project / "migrations").iterdir()) == ["001.sql", "002_add_unique_a_k.sql", "003_add_unique_b_k.sql"]
