"""peewee's own read-then-write idioms (quay's data/model/*.py):

    if TeamMember.select().where(TeamMember.user == u, TeamMember.team == t).exists(): raise ...
    TeamMember.create(user=u, team=t)

and `try: TeamMember.get(user=u, team=t)` / `except TeamMember.DoesNotExist: create(...)` are
check-then-inserts. The user field is the project's own ForeignKeyField subclass (quay's
QuayUserField), so its column is user_id and the unique index on (user, team) covers the lookup.
UPS101 flags both; run for real with peewee on PostgreSQL, MariaDB and SQLite from two threads
that meet after the lookup: without the index both insert, with it the second fails. A model's
own `create` classmethod is the project's method, not peewee's: not read as an insert."""

from __future__ import annotations

import importlib
import json
import sys
import threading

import pytest

from auditor.cli import main

MODELS = '''
import os

import peewee
from peewee import CharField, ForeignKeyField, Model

DB = os.environ.get("PEEWEE_RACE_DB", "")
if DB.startswith("postgresql://"):
    from urllib.parse import urlparse
    url = urlparse(DB)
    db = peewee.PostgresqlDatabase(url.path[1:], user=url.username, host=url.hostname, port=url.port)
elif DB.startswith("mysql://"):
    from urllib.parse import urlparse
    url = urlparse(DB)
    db = peewee.MySQLDatabase(url.path[1:], user=url.username, password=url.password or "", host=url.hostname, port=url.port)
else:
    db = peewee.SqliteDatabase(DB or ":memory:")


class BaseModel(Model):
    class Meta:
        database = db


class User(BaseModel):
    username = CharField()


class UserField(ForeignKeyField):
    def __init__(self, allows_robots=False, *args, **kwargs):
        if "model" not in kwargs:
            kwargs["model"] = User
        super().__init__(*args, **kwargs)


class TeamMember(BaseModel):
    user = UserField(allows_robots=True, index=True)
    team = CharField()

    class Meta:
        indexes = INDEXES


class Invite(BaseModel):
    email = CharField()

    @classmethod
    def create(cls, **fields):
        return cls.get_or_create(**fields)[0]
'''

APP = '''
from models import Invite, TeamMember


def user_exists_in_team(user, team):
    return TeamMember.select().where(TeamMember.user == user, TeamMember.team == team).exists()


def add_user_to_team(user, team):
    if user_exists_in_team(user, team):
        raise ValueError("already a member")
    return TeamMember.create(user=user, team=team)


def member(user, team):
    try:
        return TeamMember.get(user=user, team=team)
    except TeamMember.DoesNotExist:
        return TeamMember.create(user=user, team=team)


def invite(email):
    if Invite.select().where(Invite.email == email).exists():
        return None
    return Invite.create(email=email)
'''

SHAPES = {"select_exists": ("add_user_to_team", 12), "get_except": ("member", 19)}


def write_project(root, unique: bool):
    root.mkdir()
    indexes = '((("user", "team"), True),)' if unique else "()"
    (root / "models.py").write_text(MODELS.replace("INDEXES", indexes))
    (root / "app.py").write_text(APP)
    return root


@pytest.mark.parametrize("dialect", ["postgres", "mysql", "sqlite"])
def test_peewee_idioms_are_flagged_on_their_real_key(dialect, tmp_path, capsys):
    project = write_project(tmp_path / "project", unique=True)
    main(["check", str(project), "--format", "json", "--no-cache", "--dialect", dialect])
    doc = json.loads(capsys.readouterr().out)
    in_app = [f for f in doc["findings"] if f["path"] == "app.py"]  # (models.py's own get_or_create is UPS201's)
    assert [(f["rule"], f["line"]) for f in in_app] == [("UPS101", line) for _, line in SHAPES.values()]
    assert all("teammember by (user_id, team): the unique " in f["message"] for f in in_app)
    assert not [s for s in doc["sites"] if s["line"] == 25]  # Invite.create is the project's classmethod


@pytest.fixture
def database_url(request, tmp_path):
    def url(dialect: str) -> str:
        if dialect == "postgres":
            return request.getfixturevalue("pg_database")
        if dialect == "mysql":
            return request.getfixturevalue("mariadb_url")
        return str(tmp_path / "race.sqlite3")
    return url


@pytest.mark.parametrize("unique", [False, True], ids=["no-key", "unique-key"])
@pytest.mark.parametrize("shape", sorted(SHAPES))
@pytest.mark.parametrize("dialect", ["postgres", "mysql", "sqlite"])
def test_two_writers_race(dialect, shape, unique, database_url, tmp_path, monkeypatch):
    pytest.importorskip("peewee")
    project = write_project(tmp_path / "project", unique)
    monkeypatch.setenv("PEEWEE_RACE_DB", database_url(dialect))
    monkeypatch.syspath_prepend(str(project))
    for name in ("models", "app"):
        sys.modules.pop(name, None)
    models, app = importlib.import_module("models"), importlib.import_module("app")
    try:
        models.db.create_tables([models.User, models.TeamMember, models.Invite])
        user = models.User.create(username="ada")
        meet, local, errors = threading.Barrier(2), threading.local(), []
        execute = models.db.execute_sql

        def meet_after_the_lookup(sql, params=None, *args, **kwargs):
            cursor = execute(sql, params, *args, **kwargs)
            if sql.lstrip().upper().startswith("SELECT") and "teammember" in sql and not getattr(local, "met", False):
                local.met = True
                meet.wait(timeout=5)  # both writers looked and found no membership
            return cursor

        monkeypatch.setattr(models.db, "execute_sql", meet_after_the_lookup)

        def request():
            try:
                getattr(app, SHAPES[shape][0])(user.id, "core")
            except Exception as error:
                errors.append(type(error).__name__)
            finally:
                models.db.close()

        threads = [threading.Thread(target=request) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        monkeypatch.setattr(models.db, "execute_sql", execute)
        rows = models.TeamMember.select().count()
        assert (rows, errors) == ((1, ["IntegrityError"]) if unique else (2, []))
    finally:
        models.db.drop_tables([models.User, models.TeamMember, models.Invite])
        models.db.close()
        for name in ("models", "app"):
            sys.modules.pop(name, None)


@pytest.mark.parametrize("dialect", ["postgres", "mysql", "sqlite"])
def test_after_duplicates_peewee_get_or_create_reads_one_and_raises_nothing(dialect, database_url, tmp_path, monkeypatch, capsys):
    """UPS201's claim for peewee, unlike Django's MultipleObjectsReturned: once two rows match,
    every later get_or_create returns one of them and inserts nothing."""
    pytest.importorskip("peewee")
    project = write_project(tmp_path / "project", unique=False)
    main(["check", str(project), "--format", "json", "--no-cache", "--dialect", dialect])
    [finding] = [f for f in json.loads(capsys.readouterr().out)["findings"] if f["rule"] == "UPS201"]
    assert finding["path"] == "models.py"
    assert "every later call returns whichever duplicate the database reads first" in finding["message"]
    assert "MultipleObjectsReturned" not in finding["message"]

    monkeypatch.setenv("PEEWEE_RACE_DB", database_url(dialect))
    monkeypatch.syspath_prepend(str(project))
    sys.modules.pop("models", None)
    models = importlib.import_module("models")
    try:
        models.db.create_tables([models.Invite])
        models.Invite.insert_many([{"email": "ada@x"}, {"email": "ada@x"}]).execute()  # what the race leaves
        row, created = models.Invite.get_or_create(email="ada@x")
        assert (row.email, created, models.Invite.select().count()) == ("ada@x", False, 2)
    finally:
        models.db.drop_tables([models.Invite])
        models.db.close()
        sys.modules.pop("models", None)
