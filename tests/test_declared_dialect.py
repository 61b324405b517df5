"""The dialect a project configures its ORM for (a peewee database class, a Django ENGINE)
decides the audit's dialect when the code names one and no configuration does: frigate's
peewee `Event.replace(...)` on SQLite was read as PostgreSQL, where REPLACE does not exist,
and its lost column went unreported."""

from __future__ import annotations

import json
import sqlite3

import peewee
import pytest

from auditor.cli import main
from auditor.python.drivers import declared_dialects


@pytest.mark.parametrize(("source", "expected"), [
    (b"db = SqliteQueueDatabase(path)", {"sqlite"}),
    (b"db = playhouse.sqlite_ext.SqliteExtDatabase(path, pragmas={})", {"sqlite"}),
    (b"db = PooledPostgresqlExtDatabase('app')", {"postgres"}),
    (b"db = MySQLDatabase('app')", {"mysql"}),
    (b"DATABASES = {'default': {'ENGINE': 'django.db.backends.postgresql', 'NAME': 'x'}}", {"postgres"}),
    (b'DATABASES = {"default": {"ENGINE": "django.contrib.gis.db.backends.postgis"}}', {"postgres"}),
    (b"DATABASES = dict(default=dict(ENGINE='django.db.backends.sqlite3'))", {"sqlite"}),
    (b"engine = create_engine('sqlite:///dev.db')", set()),  # a URL default says little
    (b"class Database: pass\nDatabase()", set()),
])
def test_declared_dialects(source, expected):
    assert declared_dialects(source) == expected


MODELS = '''
import peewee
from playhouse.sqliteq import SqliteQueueDatabase

db = SqliteQueueDatabase("frigate.db")


class Event(peewee.Model):
    id = peewee.CharField(primary_key=True)
    label = peewee.CharField()
    retain_indefinitely = peewee.BooleanField(default=False)

    class Meta:
        database = db
'''
EVENTS = '''
from app.models import Event


def update(event):
    Event.replace(id=event["id"], label=event["label"]).execute()
'''


def audit(make_project, capsys, files: dict[str, str]) -> dict:
    project = make_project({"app/__init__.py": "", "app/events.py": EVENTS, **files})
    main(["check", str(project), "--format", "json", "--no-cache"])
    return json.loads(capsys.readouterr().out)


def test_a_peewee_sqlite_database_makes_the_project_sqlite(make_project, capsys):
    doc = audit(make_project, capsys, {"app/models.py": MODELS})
    assert doc["dialect"] == "sqlite"
    [finding] = doc["findings"]
    assert (finding["rule"], finding["severity"], finding["line"]) == ("UPS301", "warning", 6)
    assert "retain_indefinitely" in finding["message"]


def test_a_test_settings_file_does_not_decide(make_project, capsys):
    settings = "DATABASES = {'default': {'ENGINE': 'django.db.backends.mysql'}}\n"
    doc = audit(make_project, capsys, {"app/models.py": MODELS, "tests/settings.py": settings})
    assert doc["dialect"] == "sqlite"


def test_disagreeing_declarations_leave_the_drivers_to_decide(make_project, capsys):
    other = "import peewee\nreplica = peewee.PostgresqlDatabase('replica')\n"
    doc = audit(make_project, capsys, {"app/models.py": MODELS, "app/replica.py": other})
    assert doc["dialect"] == "postgres"  # no driver votes: the default


def test_peewee_replace_on_sqlite_resets_the_column_it_omits(tmp_path):
    """The oracle: peewee's own REPLACE on SQLite puts retain_indefinitely back to its default."""
    db = peewee.SqliteDatabase(str(tmp_path / "frigate.db"))

    class Event(peewee.Model):
        id = peewee.CharField(primary_key=True)
        label = peewee.CharField()
        retain_indefinitely = peewee.BooleanField(default=False)

        class Meta:
            database = db

    db.create_tables([Event])
    Event.create(id="e1", label="person", retain_indefinitely=True)
    Event.replace(id="e1", label="car").execute()
    db.close()
    with sqlite3.connect(tmp_path / "frigate.db") as conn:
        assert conn.execute("SELECT label, retain_indefinitely FROM event").fetchall() == [("car", 0)]
