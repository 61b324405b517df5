"""`upsert-audit migrate` in a Django project writes a migration in the app that owns the
table; Django's `migrate` runs it on a populated PostgreSQL and the incident is fixed."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from urllib.parse import urlparse

import pytest

from auditor.cli import main

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "schema"))
from framework_oracle import copy_example, run_module  # noqa: E402

psycopg = pytest.importorskip("psycopg")


def test_django_migration_fixes_the_incident(pg_database, tmp_path, capsys):
    project = copy_example("django_app", tmp_path)
    url = urlparse(pg_database)
    env = {"DJANGO_DB_ENGINE": "django.db.backends.postgresql", "DJANGO_DB_NAME": url.path[1:], "DJANGO_DB_USER": url.username or "",
           "DJANGO_DB_HOST": url.hostname, "DJANGO_DB_PORT": str(url.port or 5432), "PYTHONPATH": str(project)}
    migrate = ["django", "migrate", "--settings=config.settings"]
    run_module(migrate, project, env=env)
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute("INSERT INTO accounts (id, created_at, updated_at, email, tenant) SELECT g, now(), now(), 'u' || g, g FROM generate_series(1, 2) g")
        conn.execute(
            "INSERT INTO profiles_avatarconfiguration (account_id, persona, settings, updated_at) VALUES "
            "(1, 'old', '{}', '2026-01-01'), (1, 'new', '{}', '2026-02-01'), (2, 'only', '{}', '2026-01-01')"
        )

    assert main(["migrate", str(project), "--no-cache"]) == 0
    [migration] = (project / "profiles" / "migrations").glob("0004_add_unique_*.py")
    assert 'dependencies = [("profiles", "0003_session")]' in migration.read_text()
    run_module(migrate, project, env=env)

    with psycopg.connect(pg_database) as conn:
        assert conn.execute("SELECT account_id, persona FROM profiles_avatarconfiguration ORDER BY account_id").fetchall() == [(1, "new"), (2, "only")]
        assert conn.execute("SELECT persona FROM profiles_avatarconfiguration_dedup_archive").fetchall() == [("old",)]
        assert conn.execute(
            "SELECT contype FROM pg_constraint WHERE conname = 'profiles_avatarconfiguration_account_id_key'"
        ).fetchone() == ("u",)

    capsys.readouterr()
    main(["check", str(project), "--format", "json", "--no-cache"])
    assert "UPS001" not in [f["rule"] for f in json.loads(capsys.readouterr().out)["findings"]]
    assert main(["migrate", str(project), "--no-cache"]) == 0  # nothing left to add
    assert len(list((project / "profiles" / "migrations").glob("*_add_unique_*.py"))) == 1
