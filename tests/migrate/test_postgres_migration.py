"""`upsert-audit migrate` on a real PostgreSQL: the generated migration, run with psql on a
populated table full of duplicates, adds the key without losing a row, and the upsert
that failed now runs."""

from __future__ import annotations

import json
import random
import subprocess
from datetime import datetime, timedelta, timezone

import pytest

from auditor.cli import main

psycopg = pytest.importorskip("psycopg")

SCHEMA = """
CREATE TABLE users (id bigserial PRIMARY KEY, email text NOT NULL);
CREATE TABLE avatar_configurations (
    id bigserial PRIMARY KEY,
    user_id bigint REFERENCES users (id),
    persona text NOT NULL,
    created_at timestamptz,
    updated_at timestamptz
);
-- ON DELETE CASCADE: if a duplicate were deleted before its children were re-pointed, they would vanish.
CREATE TABLE avatar_events (id bigserial PRIMARY KEY, config_id bigint NOT NULL REFERENCES avatar_configurations (id) ON DELETE CASCADE, kind text);
CREATE TABLE avatar_notes (id bigserial PRIMARY KEY, config_id bigint REFERENCES avatar_configurations (id), note text);
"""
UPSERT = ("INSERT INTO avatar_configurations (user_id, persona, updated_at) VALUES (%s, %s, now()) "
          "ON CONFLICT (user_id) DO UPDATE SET persona = EXCLUDED.persona, updated_at = EXCLUDED.updated_at")
APP = f'import psycopg\n\n\ndef save(cur, user_id, persona):\n    cur.execute("{UPSERT}", (user_id, persona))\n'


def psql(url: str, path) -> subprocess.CompletedProcess:
    return subprocess.run(["psql", url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", str(path)], capture_output=True, text=True, timeout=120)


def fill(conn) -> None:
    """200 users; 0-4 configurations each with clashing and NULL timestamps; NULL-user rows; children."""
    rng = random.Random(7)
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    conn.execute("INSERT INTO users (email) SELECT 'u' || g || '@example.com' FROM generate_series(1, 200) g")
    rows = []
    for user in range(1, 201):
        for _ in range(rng.choice([0, 1, 1, 2, 3, 4])):
            updated = rng.choice([None, start + timedelta(days=rng.randint(0, 3))])  # ties and NULLs on purpose
            created = rng.choice([None, start - timedelta(days=rng.randint(0, 3))])
            rows.append((user, f"p{rng.randint(0, 999)}", created, updated))
    rows += [(None, f"orphan{i}", None, None) for i in range(5)]  # NULL keys are never duplicates
    rng.shuffle(rows)
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO avatar_configurations (user_id, persona, created_at, updated_at) VALUES (%s, %s, %s, %s)", rows)
    ids = [r[0] for r in conn.execute("SELECT id FROM avatar_configurations")]
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO avatar_events (config_id, kind) VALUES (%s, %s)", [(rng.choice(ids), "e") for _ in range(300)])
        cur.executemany("INSERT INTO avatar_notes (config_id, note) VALUES (%s, %s)", [(rng.choice(ids + [None]), "n") for _ in range(100)])


def newest(rows):
    """The row the migration must keep: updated_at, created_at, id; newest first, NULLs last."""
    def key(row):
        _, _, _, created, updated = row
        return (updated is not None, updated or datetime.min.replace(tzinfo=timezone.utc),
                created is not None, created or datetime.min.replace(tzinfo=timezone.utc), row[0])
    return max(rows, key=key)


@pytest.fixture
def populated(pg_database, make_project):
    project = make_project({"migrations/001_schema.sql": SCHEMA, "app.py": APP})
    assert psql(pg_database, project / "migrations/001_schema.sql").returncode == 0
    with psycopg.connect(pg_database, autocommit=True) as conn:
        fill(conn)
    return project, pg_database


def snapshot(url):
    with psycopg.connect(url) as conn:
        configs = conn.execute("SELECT id, user_id, persona, created_at, updated_at FROM avatar_configurations ORDER BY id").fetchall()
        events = conn.execute("SELECT id, config_id FROM avatar_events ORDER BY id").fetchall()
        notes = conn.execute("SELECT id, config_id FROM avatar_notes ORDER BY id").fetchall()
    return configs, events, notes


def test_generated_migration_adds_the_key_without_losing_a_row(populated, capsys):
    project, url = populated
    configs, events, notes = snapshot(url)
    assert main(["migrate", str(project), "--no-cache"]) == 0
    [migration] = sorted((project / "migrations").glob("002_*.sql"))
    assert migration.name == "002_add_unique_avatar_configurations_user_id.sql"

    run = psql(url, migration)
    assert run.returncode == 0, run.stderr

    with psycopg.connect(url) as conn:
        # the key exists, is valid, and is a constraint ON CONFLICT can name
        assert conn.execute(
            "SELECT con.contype, i.indisvalid FROM pg_constraint con JOIN pg_index i ON i.indexrelid = con.conindid "
            "WHERE con.conname = 'avatar_configurations_user_id_key'"
        ).fetchone() == ("u", True)
        after = conn.execute("SELECT id, user_id, persona, created_at, updated_at FROM avatar_configurations ORDER BY id").fetchall()
        archive = conn.execute("SELECT id, user_id, persona, created_at, updated_at, dedup_kept_id FROM avatar_configurations_dedup_archive ORDER BY id").fetchall()
        events_after = conn.execute("SELECT id, config_id FROM avatar_events ORDER BY id").fetchall()
        notes_after = conn.execute("SELECT id, config_id FROM avatar_notes ORDER BY id").fetchall()

    by_user: dict = {}
    for row in configs:
        by_user.setdefault(row[1], []).append(row)
    kept = {user: newest(rows) for user, rows in by_user.items() if user is not None}
    # one row per key, and it is the most recent one; NULL-keyed rows untouched
    assert sorted(r for r in after if r[1] is not None) == sorted(kept.values())
    assert [r for r in after if r[1] is None] == by_user[None]
    # archived + kept = the original rows; each archived row names the row kept instead
    assert sorted(after + [r[:5] for r in archive]) == sorted(configs)
    assert all(r[5] == kept[r[1]][0] for r in archive) and len(archive) > 50
    # no child row lost, each points at the kept row of its old parent's key
    replacement = {r[0]: kept[r[1]][0] if r[1] is not None else r[0] for r in configs}
    assert events_after == [(i, replacement[c]) for i, c in events]
    assert notes_after == [(i, replacement[c] if c is not None else None) for i, c in notes]

    # the incident's upsert now runs, and updates instead of duplicating
    with psycopg.connect(url) as conn:
        conn.execute(UPSERT, (1, "owl"))
        assert conn.execute("SELECT count(*), max(persona) FROM avatar_configurations WHERE user_id = 1").fetchone() == (1, "owl")

    # the re-audit sees the new key in the new migration file: UPS001 is gone; what is left is
    # UPS010, true of this schema: user_id is nullable, so a NULL user_id never conflicts
    capsys.readouterr()
    main(["check", str(project), "--format", "json", "--no-cache"])
    assert [f["rule"] for f in json.loads(capsys.readouterr().out)["findings"]] == ["UPS010"]


def test_running_it_again_changes_nothing_and_migrate_does_not_repeat_itself(populated, capsys):
    project, url = populated
    assert main(["migrate", str(project), "--no-cache"]) == 0
    [migration] = sorted((project / "migrations").glob("002_*.sql"))
    assert psql(url, migration).returncode == 0
    before = snapshot(url)
    with psycopg.connect(url) as conn:
        archived = conn.execute("SELECT count(*) FROM avatar_configurations_dedup_archive").fetchone()
    again = psql(url, migration)
    assert again.returncode == 0, again.stderr
    assert snapshot(url) == before
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM avatar_configurations_dedup_archive").fetchone() == archived
    # a second `migrate` finds the key in the new file and does not write it again; user_id is
    # nullable, so now that the key exists UPS010 applies and its NULLS NOT DISTINCT key is next
    assert main(["migrate", str(project), "--no-cache"]) == 0
    names = sorted(p.name for p in (project / "migrations").glob("*.sql"))
    assert names == ["001_schema.sql", migration.name, "003_add_unique_avatar_configurations_user_id_nulls_not_distinct.sql"]
    assert main(["migrate", str(project), "--no-cache"]) == 0  # and then nothing more
    assert sorted(p.name for p in (project / "migrations").glob("*.sql")) == names


def test_an_invalid_index_from_a_failed_build_is_cleaned_up(populated):
    project, url = populated
    assert main(["migrate", str(project), "--no-cache"]) == 0
    [migration] = sorted((project / "migrations").glob("002_*.sql"))
    # Simulate the race: a build that failed on duplicates leaves an INVALID index behind.
    with psycopg.connect(url, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute("CREATE UNIQUE INDEX CONCURRENTLY avatar_configurations_user_id_key ON avatar_configurations (user_id)")
        assert conn.execute("SELECT indisvalid FROM pg_index WHERE indexrelid = 'avatar_configurations_user_id_key'::regclass").fetchone() == (False,)
    run = psql(url, migration)
    assert run.returncode == 0, run.stderr
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT indisvalid FROM pg_index WHERE indexrelid = 'avatar_configurations_user_id_key'::regclass").fetchone() == (True,)


def test_a_foreign_key_it_cannot_repoint_aborts_everything(populated):
    project, url = populated
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ALTER TABLE avatar_configurations ADD CONSTRAINT avatar_id_persona UNIQUE (id, persona)")
        conn.execute("CREATE TABLE avatar_pairs (config_id bigint, persona text, FOREIGN KEY (config_id, persona) REFERENCES avatar_configurations (id, persona))")
    before = snapshot(url)
    assert main(["migrate", str(project), "--no-cache"]) == 0
    [migration] = sorted((project / "migrations").glob("002_*.sql"))
    run = psql(url, migration)
    assert run.returncode != 0 and "re-point it by hand" in run.stderr
    assert snapshot(url) == before  # the transaction rolled back: nothing archived, nothing deleted
