"""Check and write in two helpers of the project, called one after the other from one
function (`if not tag_exists(session, name): repo.insert(name)`, `if self.find(name) is None:
self.insert(name)`): each helper is read one level deep, so the pair is the check-then-insert
it is, flagged by UPS101 and raced for real on PostgreSQL, MariaDB and SQLite. A helper whose
result is true when nothing was found (`return row is None`) is not read as a lookup the
other way round."""

from __future__ import annotations

import json

import pytest
from sqlalchemy_race import engine_url, race  # noqa: F401 - engine_url is a fixture

from auditor.cli import main

MODELS = """
from sqlalchemy import Column, Integer, String
from sqlalchemy.orm import declarative_base

Base = declarative_base()


class Tag(Base):
    __tablename__ = "tags"
    id = Column(Integer, primary_key=True)
    name = Column(String(50), nullable=False, unique=UNIQUE)
"""

APP = """
from models import Tag


def tag_exists(session, name):
    return session.query(Tag).filter_by(name=name).first() is not None


def tag_missing(session, name):
    return session.query(Tag).filter_by(name=name).first() is None


class TagRepository:
    def __init__(self, session):
        self.session = session

    def find(self, name):
        row = self.session.query(Tag).filter_by(name=name).first()
        return row

    def insert(self, name):
        self.session.add(Tag(name=name))

    def ensure(self, name):
        if self.find(name) is None:
            self.insert(name)


def tag(session, name):
    repo = TagRepository(session)
    if not tag_exists(session, name):
        repo.insert(name)


def tag_unless_missing(session, name):
    if not tag_missing(session, name):  # inserts when the row IS there: no check-then-insert
        TagRepository(session).insert(name)
"""

REQUESTS = {
    "function_then_method": lambda modules, session: modules["app"].tag(session, "urgent"),  # line 32
    "method_then_method": lambda modules, session: modules["app"].TagRepository(session).ensure("urgent"),  # line 26
}


def write_project(project, unique: bool):
    project.mkdir()
    (project / "models.py").write_text(MODELS.replace("UNIQUE", str(unique)))
    (project / "app.py").write_text(APP)
    return project


@pytest.mark.parametrize("dialect", ["postgres", "mysql", "sqlite"])
def test_the_pairs_are_flagged_and_nothing_else(dialect, tmp_path, capsys):
    project = write_project(tmp_path / "project", unique=False)
    main(["check", str(project), "--format", "json", "--no-cache", "--dialect", dialect])
    doc = json.loads(capsys.readouterr().out)
    assert [(f["rule"], f["line"]) for f in doc["findings"]] == [("UPS101", 26), ("UPS101", 32)]
    assert all("no unique key of tags covers (name)" in f["message"] for f in doc["findings"])


@pytest.mark.parametrize("unique", [False, True], ids=["no-key", "unique-key"])
@pytest.mark.parametrize("shape", sorted(REQUESTS))
def test_two_requests_through_the_helpers_both_insert(shape, unique, engine_url, tmp_path):
    _dialect, url = engine_url
    project = write_project(tmp_path / "project", unique)
    assert race(project, url, "tags", REQUESTS[shape]) == ((1, ["IntegrityError"]) if unique else (2, []))
