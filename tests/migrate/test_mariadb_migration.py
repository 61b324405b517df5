"""`upsert-audit migrate` for MariaDB: the UPS001 finding of an ON DUPLICATE KEY UPDATE that
hits no key becomes a migration on the key it means (the columns it inserts but does not
update). Run with the mariadb client on a populated database: one row per key, the newest
kept, nothing lost, children re-pointed, a second run changes nothing, and afterwards the
upsert updates instead of inserting and the re-audit is clean."""

from __future__ import annotations

import random
import subprocess

import pytest

from auditor.cli import main

pymysql = pytest.importorskip("pymysql")

SCHEMA = """
CREATE TABLE users (id INT AUTO_INCREMENT PRIMARY KEY, email VARCHAR(100) NOT NULL);
CREATE TABLE avatar_configurations (
    id INT AUTO_INCREMENT PRIMARY KEY,
    user_id INT,
    persona VARCHAR(40) NOT NULL,
    updated_at DATETIME NULL,
    FOREIGN KEY (user_id) REFERENCES users (id)
) ENGINE=InnoDB;
CREATE TABLE avatar_events (
    id INT AUTO_INCREMENT PRIMARY KEY,
    config_id INT NOT NULL,
    FOREIGN KEY (config_id) REFERENCES avatar_configurations (id) ON DELETE CASCADE
) ENGINE=InnoDB;
"""


def mariadb(params: dict, sql: str) -> subprocess.CompletedProcess:
    command = ["mariadb", "-h", params["host"], "-P", str(params["port"]), "-u", params["user"], params["database"]]
    if params["password"]:
        command.insert(1, f"-p{params['password']}")
    return subprocess.run(command, input=sql, capture_output=True, text=True, timeout=120)


ODKU = ("INSERT INTO avatar_configurations (user_id, persona) VALUES (%s, %s) "
        "ON DUPLICATE KEY UPDATE persona = VALUES(persona)")
APP = f'import pymysql\n\n\ndef save(conn, user_id, persona):\n    with conn.cursor() as cur:\n        cur.execute("{ODKU}", (user_id, persona))\n'


def test_mariadb_recipe_keeps_every_row(mariadb_database, make_project, capsys):
    project = make_project({"migrations/001_schema.sql": SCHEMA, "app.py": APP})
    assert main(["check", str(project), "--no-cache", "--select", "UPS001"]) == 1
    assert "ON DUPLICATE KEY UPDATE" in capsys.readouterr().out
    assert main(["migrate", str(project), "--no-cache"]) == 0
    [generated] = sorted((project / "migrations").glob("002_*user_id*.sql"))
    sql = generated.read_text()
    assert mariadb(mariadb_database, SCHEMA).returncode == 0
    rng = random.Random(5)
    conn = pymysql.connect(autocommit=True, **mariadb_database)
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO users (email) VALUES (%s)", [(f"u{u}",) for u in range(1, 81)])
        rows = [(u, f"p{rng.randint(0, 99)}", rng.choice([None, f"2026-01-0{rng.randint(1, 4)} 00:00:00"]))
                for u in range(1, 81) for _ in range(rng.choice([0, 1, 2, 3]))] + [(None, "orphan", None)] * 2
        rng.shuffle(rows)
        cur.executemany("INSERT INTO avatar_configurations (user_id, persona, updated_at) VALUES (%s, %s, %s)", rows)
        cur.execute("SELECT id FROM avatar_configurations")
        ids = [r[0] for r in cur.fetchall()]
        cur.executemany("INSERT INTO avatar_events (config_id) VALUES (%s)", [(rng.choice(ids),) for _ in range(120)])
        cur.execute("SELECT id, user_id, persona, updated_at FROM avatar_configurations ORDER BY id")
        configs = cur.fetchall()
        cur.execute("SELECT id, config_id FROM avatar_events ORDER BY id")
        events = cur.fetchall()

    for _ in range(2):  # the second run must change nothing
        run = mariadb(mariadb_database, sql)
        assert run.returncode == 0, run.stderr

    with conn.cursor() as cur:
        cur.execute("SELECT id, user_id, persona, updated_at FROM avatar_configurations ORDER BY id")
        after = cur.fetchall()
        cur.execute("SELECT id, user_id, persona, updated_at, dedup_kept_id FROM avatar_configurations_dedup_archive ORDER BY id")
        archive = cur.fetchall()
        cur.execute("SELECT id, config_id FROM avatar_events ORDER BY id")
        events_after = cur.fetchall()
        cur.execute("SELECT NON_UNIQUE FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND INDEX_NAME = 'avatar_configurations_user_id_key'")
        assert cur.fetchall() == ((0,),)
        cur.execute("SELECT count(*) FROM avatar_configurations WHERE user_id = 1")
        before = cur.fetchone()[0]
        for persona in ("again", "and again"):  # the upsert now updates
            cur.execute(ODKU, (1, persona))
        cur.execute("SELECT count(*), max(persona) FROM avatar_configurations WHERE user_id = 1")
        assert cur.fetchone() == (1, "and again") and before == 1
    conn.close()
    capsys.readouterr()
    assert main(["check", str(project), "--no-cache", "--select", "UPS001"]) == 0
    newest = {}
    for row in configs:
        if row[1] is not None:
            best = newest.get(row[1])
            if best is None or (row[3] is not None, row[3] or 0, row[0]) > (best[3] is not None, best[3] or 0, best[0]):
                newest[row[1]] = row
    assert sorted(r for r in after if r[1] is not None) == sorted(newest.values())
    assert len([r for r in after if r[1] is None]) == 2
    assert sorted(list(after) + [r[:4] for r in archive]) == sorted(configs) and len(archive) > 10
    replacement = {r[0]: newest[r[1]][0] if r[1] is not None else r[0] for r in configs}
    assert list(events_after) == [(i, replacement[c]) for i, c in events]
