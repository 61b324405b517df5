"""The oslo.db style of the OpenStack projects (nova's db/main/api.py, objects/quotas.py):

    usage = model_query(context, models.VolumeUsage).filter_by(volume_id=id).first()
    if not usage:
        usage = models.VolumeUsage()
        usage.volume_id = id
        usage.save(context.session)

`model_query(context, M)` is the project's query factory for M; `obj.save(session)` the
model base's insert; `obj.update(values)` sets fields the audit cannot name; an exception
class of the project named `...NotFound`, raised by a lookup helper, is its "nothing found".
Each is a check-then-insert or update-then-insert, flagged by UPS101 / UPS102 and raced for
real on PostgreSQL, MariaDB and SQLite."""

from __future__ import annotations

import json

import pytest
from sqlalchemy_race import engine_url, race  # noqa: F401 - engine_url is a fixture

from auditor.cli import main

MODELS = """
from sqlalchemy import Column, Integer, String, UniqueConstraint
from sqlalchemy.orm import declarative_base


class ModelBase:
    def save(self, session):
        session.add(self)
        session.flush()

    def update(self, values):
        for key, value in values.items():
            setattr(self, key, value)


Base = declarative_base(cls=ModelBase)


class VolumeUsage(Base):
    __tablename__ = "volume_usage"
    id = Column(Integer, primary_key=True)
    volume_id = Column(String(36), nullable=False)
    reads = Column(Integer, default=0)
    __table_args__ = KEY
"""

APP = """
import models


class QuotaNotFound(Exception):
    pass


class Context:
    def __init__(self, session):
        self.session = session


def model_query(context, model, read_deleted="no"):
    return context.session.query(model)


def usage_update(context, volume_id, reads):
    usage = model_query(context, models.VolumeUsage).filter_by(volume_id=volume_id).first()
    if not usage:
        usage = models.VolumeUsage()
        usage.volume_id = volume_id
    usage.reads = reads
    usage.save(context.session)


def _get_usage(context, volume_id):
    found = model_query(context, models.VolumeUsage).filter_by(volume_id=volume_id).first()
    if not found:
        raise QuotaNotFound(volume_id)
    return found


def usage_create(context, volume_id, values):
    try:
        _get_usage(context, volume_id)
    except QuotaNotFound:
        pass
    else:
        raise ValueError("exists")
    usage = models.VolumeUsage()
    usage.update(values)
    usage.volume_id = volume_id
    usage.save(context.session)
"""

REQUESTS = {
    "model_query": lambda modules, session: modules["app"].usage_update(modules["app"].Context(session), "v-1", 3),  # line 24
    "not_found": lambda modules, session: modules["app"].usage_create(modules["app"].Context(session), "v-1", {"reads": 1}),  # line 44
}


def write_project(project, unique: bool):
    project.mkdir()
    key = '(UniqueConstraint("volume_id"),)' if unique else "()"
    (project / "models.py").write_text(MODELS.replace("KEY", key))
    (project / "app.py").write_text(APP)
    return project


@pytest.mark.parametrize("dialect", ["postgres", "mysql", "sqlite"])
def test_the_oslo_db_shapes_are_flagged(dialect, tmp_path, capsys):
    project = write_project(tmp_path / "project", unique=False)
    main(["check", str(project), "--format", "json", "--no-cache", "--dialect", dialect])
    doc = json.loads(capsys.readouterr().out)
    assert [(f["rule"], f["path"], f["line"]) for f in doc["findings"]] == [("UPS101", "app.py", 24), ("UPS101", "app.py", 44)]
    assert all("no unique key of volume_usage covers (volume_id)" in f["message"] for f in doc["findings"])


@pytest.mark.parametrize("unique", [False, True], ids=["no-key", "unique-key"])
@pytest.mark.parametrize("shape", sorted(REQUESTS))
def test_two_requests_both_insert(shape, unique, engine_url, tmp_path):
    _dialect, url = engine_url
    project = write_project(tmp_path / "project", unique)
    assert race(project, url, "volume_usage", REQUESTS[shape]) == ((1, ["IntegrityError"]) if unique else (2, []))
