"""The Alembic and Django migration formats on SQLite and MariaDB, run by the frameworks
themselves (`alembic upgrade`, Django `migrate`): the duplicates are archived (the newest
kept), the key exists, the re-audit is clean, the down step removes the key, and upgrading
again restores it. (PostgreSQL: test_alembic_migration.py, test_django_migration.py.)"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path
from urllib.parse import urlparse

import pytest

from auditor.cli import main
from auditor.config import load_config
from auditor.engine import run_audit

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "schema"))
from framework_oracle import copy_example, run_module  # noqa: E402

pymysql = pytest.importorskip("pymysql")


class Sqlite:
    def __init__(self, path: Path):
        self.path = path

    def run(self, sql: str) -> list[tuple]:
        with sqlite3.connect(self.path) as conn:
            return [tuple(r) for r in conn.execute(sql).fetchall()]

    def unique_indexes(self, table: str) -> set[str]:
        return {r[1] for r in self.run(f"PRAGMA index_list({table})") if r[2]}


class Mariadb:
    def __init__(self, params: dict):
        self.params = params

    def run(self, sql: str) -> list[tuple]:
        conn = pymysql.connect(autocommit=True, **self.params)
        try:
            with conn.cursor() as cur:
                cur.execute(sql)
                return [tuple(r) for r in cur.fetchall()]
        finally:
            conn.close()

    def unique_indexes(self, table: str) -> set[str]:
        return {r[2] for r in self.run(f"SHOW INDEX FROM {table}") if r[1] == 0}


def rules(project: Path, dialect: str) -> list[str]:
    return [f.rule for f in run_audit(load_config(project, cache=False, dialect=dialect)).findings]


# --- Django ---------------------------------------------------------------------------------------


def _django_database(dialect: str, project: Path, request, tmp_path: Path):
    """A fresh database for the Django example and the environment its settings read."""
    if dialect == "sqlite":
        db = Sqlite(tmp_path / "live.sqlite")
        env = {"DJANGO_DB_ENGINE": "django.db.backends.sqlite3", "DJANGO_DB_NAME": str(db.path)}
    else:
        params = request.getfixturevalue("mariadb_database")
        db = Mariadb(params)
        env = {"DJANGO_DB_ENGINE": "django.db.backends.mysql", "DJANGO_DB_NAME": params["database"], "DJANGO_DB_USER": params["user"],
               "DJANGO_DB_PASSWORD": params["password"], "DJANGO_DB_HOST": params["host"], "DJANGO_DB_PORT": str(params["port"])}
    return db, {**env, "PYTHONPATH": str(project)}


@pytest.mark.parametrize("dialect", ["sqlite", "mysql"])
def test_django_migration(dialect, request, tmp_path):
    project = copy_example("django_app", tmp_path)
    db, env = _django_database(dialect, project, request, tmp_path)
    migrate = ["django", "migrate", "--settings=config.settings", "-v0"]
    run_module(migrate, project, env=env)
    db.run("INSERT INTO accounts (id, created_at, updated_at, email, tenant) VALUES "
           "(1, '2026-01-01', '2026-01-01', 'a', 1), (2, '2026-01-01', '2026-01-01', 'b', 2)")
    db.run("INSERT INTO profiles_avatarconfiguration (account_id, persona, settings, updated_at) VALUES "
           "(1, 'old', '{}', '2026-01-01'), (1, 'new', '{}', '2026-02-01'), (2, 'only', '{}', '2026-01-01')")
    assert "UPS201" in rules(project, dialect)  # update_or_create(account=...) with no key on account

    assert main(["migrate", str(project), "--dialect", dialect, "--no-cache"]) == 0
    [migration] = (project / "profiles" / "migrations").glob("0004_add_unique_*.py")
    run_module(migrate, project, env=env)
    key = "profiles_avatarconfiguration_account_id_key"
    assert db.run("SELECT account_id, persona FROM profiles_avatarconfiguration ORDER BY account_id") == [(1, "new"), (2, "only")]
    assert db.run("SELECT persona FROM profiles_avatarconfiguration_dedup_archive") == [("old",)]
    assert key in db.unique_indexes("profiles_avatarconfiguration")
    assert "UPS201" not in rules(project, dialect)

    run_module(["django", "migrate", "profiles", "0003", "--settings=config.settings", "-v0"], project, env=env)
    assert key not in db.unique_indexes("profiles_avatarconfiguration")  # the down step
    run_module(migrate, project, env=env)
    assert key in db.unique_indexes("profiles_avatarconfiguration")


AVATAR_HISTORY = """


class AvatarChange(models.Model):
    configuration = models.ForeignKey(AvatarConfiguration, on_delete=models.CASCADE)
    note = models.TextField()
"""


@pytest.mark.parametrize("dialect", ["sqlite", "mysql"])
def test_django_migration_repoints_children(dialect, request, tmp_path):
    """Rows that point at a duplicate through a Django ForeignKey move to the kept row: the
    database's foreign key (deferred on SQLite, immediate on MariaDB) would refuse the
    delete otherwise, and Django's on_delete=CASCADE runs only in the ORM."""
    project = copy_example("django_app", tmp_path)
    with (project / "profiles" / "models.py").open("a") as models:
        models.write(AVATAR_HISTORY)
    db, env = _django_database(dialect, project, request, tmp_path)
    run_module(["django", "makemigrations", "profiles", "--settings=config.settings", "-v0"], project, env=env)
    migrate = ["django", "migrate", "--settings=config.settings", "-v0"]
    run_module(migrate, project, env=env)
    db.run("INSERT INTO accounts (id, created_at, updated_at, email, tenant) VALUES (1, '2026-01-01', '2026-01-01', 'a', 1)")
    db.run("INSERT INTO profiles_avatarconfiguration (id, account_id, persona, settings, updated_at) VALUES "
           "(10, 1, 'old', '{}', '2026-01-01'), (11, 1, 'new', '{}', '2026-02-01')")
    db.run("INSERT INTO profiles_avatarchange (id, configuration_id, note) VALUES (1, 10, 'on the old row'), (2, 11, 'on the kept row')")

    assert main(["migrate", str(project), "--dialect", dialect, "--no-cache"]) == 0
    run_module(migrate, project, env=env)
    assert db.run("SELECT id, persona FROM profiles_avatarconfiguration") == [(11, "new")]
    assert db.run("SELECT id, configuration_id FROM profiles_avatarchange ORDER BY id") == [(1, 11), (2, 11)]  # none lost
    assert db.run("SELECT id, persona FROM profiles_avatarconfiguration_dedup_archive") == [(10, "old")]


# --- Alembic ----------------------------------------------------------------------------------------


def test_alembic_revision_on_sqlite(tmp_path):
    project = copy_example("sqlalchemy_app", tmp_path)
    db = Sqlite(tmp_path / "live.sqlite")
    env = {"DATABASE_URL": f"sqlite:///{db.path}"}
    run_module(["alembic", "upgrade", "heads"], project, env=env)
    db.run("INSERT INTO users (id, email, tenant_id) VALUES (1, 'a', 1), (2, 'b', 1), (3, 'c', 1)")
    db.run("INSERT INTO avatar_configurations (user_id, persona, updated_at) VALUES "
           "(1, 'old', '2026-01-01'), (1, 'new', '2026-02-01'), (2, 'only', NULL), (3, 'a', NULL), (3, 'b', '2026-01-05')")

    assert main(["migrate", str(project), "--dialect", "sqlite", "--no-cache"]) == 0
    [revision] = (project / "migrations" / "versions").glob("*_add_unique_avatar_configurations_user_id.py")
    assert 'down_revision = "e5"' in revision.read_text()
    run_module(["alembic", "upgrade", "heads"], project, env=env)
    assert db.run("SELECT user_id, persona FROM avatar_configurations ORDER BY user_id") == [(1, "new"), (2, "only"), (3, "b")]
    assert db.run("SELECT persona FROM avatar_configurations_dedup_archive ORDER BY persona") == [("a",), ("old",)]
    assert "avatar_configurations_user_id_key" in db.unique_indexes("avatar_configurations")
    assert "UPS001" not in rules(project, "sqlite")

    run_module(["alembic", "downgrade", "-1"], project, env=env)
    assert "avatar_configurations_user_id_key" not in db.unique_indexes("avatar_configurations")
    run_module(["alembic", "upgrade", "heads"], project, env=env)
    assert "avatar_configurations_user_id_key" in db.unique_indexes("avatar_configurations")


ALEMBIC_INI = "[alembic]\nscript_location = migrations\nsqlalchemy.url = sqlite://\n"
ENV_PY = '''import os

from alembic import context
from sqlalchemy import create_engine, pool

engine = create_engine(os.environ["DATABASE_URL"], poolclass=pool.NullPool)
with engine.connect() as connection:
    context.configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()
'''
FIRST_REVISION = '''from alembic import op

revision = "a1"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.execute("CREATE TABLE avatars (id int AUTO_INCREMENT PRIMARY KEY, user_id int NOT NULL, persona varchar(40), "
               "updated_at datetime NULL)")


def downgrade():
    op.execute("DROP TABLE avatars")
'''
APP = '''import pymysql


def save(conn, user_id, persona):
    with conn.cursor() as cur:
        cur.execute("INSERT INTO avatars (user_id, persona) VALUES (%s, %s) ON DUPLICATE KEY UPDATE persona = VALUES(persona)",
                    (user_id, persona))
'''


def test_alembic_revision_on_mariadb(mariadb_database, make_project):
    project = make_project({
        "alembic.ini": ALEMBIC_INI, "migrations/env.py": ENV_PY, "migrations/versions/a1_avatars.py": FIRST_REVISION, "app.py": APP,
    })
    params = mariadb_database
    db = Mariadb(params)
    env = {"DATABASE_URL": f"mysql+pymysql://{params['user']}@{params['host']}:{params['port']}/{params['database']}"}
    run_module(["alembic", "upgrade", "heads"], project, env=env)
    db.run("INSERT INTO avatars (user_id, persona, updated_at) VALUES (1, 'old', '2026-01-01'), (1, 'new', '2026-02-01'), (2, 'only', NULL)")
    assert rules(project, "mysql") == ["UPS001", "UPS304"]  # the ODKU never fires: it duplicates (and VALUES() is info)

    assert main(["migrate", str(project), "--dialect", "mysql", "--no-cache"]) == 0
    [revision] = (project / "migrations" / "versions").glob("*_add_unique_avatars_user_id.py")
    assert 'down_revision = "a1"' in revision.read_text()
    run_module(["alembic", "upgrade", "heads"], project, env=env)
    assert db.run("SELECT user_id, persona FROM avatars ORDER BY user_id") == [(1, "new"), (2, "only")]
    assert db.run("SELECT persona FROM avatars_dedup_archive") == [("old",)]
    assert "avatars_user_id_key" in db.unique_indexes("avatars")
    assert rules(project, "mysql") == ["UPS304"]
    conn = pymysql.connect(autocommit=True, **params)
    try:
        sys.path.insert(0, str(project))
        import importlib

        app = importlib.import_module("app")  # our own test data: run the upsert that duplicated
        for persona in ("owl", "fox"):
            app.save(conn, 1, persona)
    finally:
        conn.close()
        sys.path.remove(str(project))
        sys.modules.pop("app", None)
    assert db.run("SELECT persona FROM avatars WHERE user_id = 1") == [("fox",)]

    run_module(["alembic", "downgrade", "-1"], project, env=env)
    assert "avatars_user_id_key" not in db.unique_indexes("avatars")
    run_module(["alembic", "upgrade", "heads"], project, env=env)
    assert "avatars_user_id_key" in db.unique_indexes("avatars")
