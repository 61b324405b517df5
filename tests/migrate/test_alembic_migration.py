"""`upsert-audit migrate` in an Alembic project writes a revision after the current head;
`alembic upgrade heads` runs it on a populated PostgreSQL; the incident is fixed, the drift
between model and migrations is gone, and the static catalog still equals the database."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from auditor.cli import main
from auditor.model import TableName
from auditor.schema.alembic_migrations import read_alembic_migrations
from auditor.schema.compare import comparable
from auditor.schema.source import catalog_from_source

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "schema"))
from framework_oracle import copy_example, live_comparable, run_module, sqlalchemy_url  # noqa: E402

psycopg = pytest.importorskip("psycopg")


def test_alembic_revision_fixes_the_incident(pg_database, tmp_path, capsys):
    project = copy_example("sqlalchemy_app", tmp_path)
    env = {"DATABASE_URL": sqlalchemy_url("postgres", pg_database, None)}
    run_module(["alembic", "upgrade", "heads"], project, env=env)
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute("INSERT INTO users (id, email, tenant_id) SELECT g, 'u' || g, 1 FROM generate_series(1, 3) g")
        conn.execute(
            "INSERT INTO avatar_configurations (user_id, persona, updated_at) VALUES "
            "(1, 'old', '2026-01-01'), (1, 'new', '2026-02-01'), (2, 'only', NULL), (3, 'a', NULL), (3, 'b', '2026-01-05')"
        )

    assert main(["migrate", str(project), "--no-cache"]) == 0
    [revision] = [p for p in (project / "migrations" / "versions").glob("*_add_unique_avatar_configurations_user_id.py")]
    assert 'down_revision = "e5"' in revision.read_text()
    run_module(["alembic", "upgrade", "heads"], project, env=env)

    with psycopg.connect(pg_database) as conn:
        assert conn.execute("SELECT user_id, persona FROM avatar_configurations ORDER BY user_id").fetchall() == [
            (1, "new"), (2, "only"), (3, "b")]
        assert conn.execute("SELECT persona FROM avatar_configurations_dedup_archive ORDER BY persona").fetchall() == [("a",), ("old",)]
        conn.execute(
            "INSERT INTO avatar_configurations (user_id, persona) VALUES (1, 'owl') "
            "ON CONFLICT (user_id) DO UPDATE SET persona = EXCLUDED.persona"
        )

    files = sorted(project.rglob("*.py"))
    static = catalog_from_source(read_alembic_migrations(project, files, "postgres"), "postgres")
    live = live_comparable("postgres", pg_database, None)
    # CREATE TABLE ... AS SELECT t.*: the reader knows the archive table but not its columns (it has no keys)
    assert static.lookup(TableName("public", "avatar_configurations_dedup_archive"))
    archive = "public.avatar_configurations_dedup_archive"
    assert live.pop(archive)["keys"] == [] and comparable(static).pop(archive)["keys"] == []
    assert {k: v for k, v in comparable(static).items() if k != archive} == live

    capsys.readouterr()
    assert main(["check", str(project), "--format", "json", "--no-cache"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["findings"] == []
    assert [d for d in document["diagnostics"] if d["kind"] == "schema-drift"] == []

    assert main(["migrate", str(project), "--no-cache"]) == 0  # nothing left to add
    assert len(list((project / "migrations" / "versions").glob("*_add_unique_*.py"))) == 1
