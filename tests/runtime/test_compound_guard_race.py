"""A check-then-insert whose lookup is one term of an `and` (`if user.active and
Tag.query...first() is None: session.add(...)`), as CTFd tracks a challenge's first open:
the body runs only when the lookup found nothing, so it is the idiom, flagged by UPS101 and
raced for real on PostgreSQL, MariaDB and SQLite. With the lookup's result on the other side
(`if user and found: ... else: add`) the else branch also runs when the lookup found a row:
not read as the idiom."""

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


def tag(session, name, active=True):
    if active and session.query(Tag).filter_by(name=name).first() is None:
        session.add(Tag(name=name))


def tag_unless(session, name, active=True):
    if active and session.query(Tag).filter_by(name=name).first():
        return
    else:
        session.add(Tag(name=name))  # also when inactive and the row exists
"""


def write_project(project, unique: bool):
    project.mkdir()
    (project / "models.py").write_text(MODELS.replace("UNIQUE", str(unique)))
    (project / "app.py").write_text(APP)
    return project


@pytest.mark.parametrize("unique", [False, True], ids=["no-key", "unique-key"])
def test_a_lookup_in_an_and_guards_the_insert(unique, engine_url, tmp_path, capsys):
    dialect, url = engine_url
    project = write_project(tmp_path / "project", unique)
    main(["check", str(project), "--format", "json", "--no-cache", "--dialect", dialect])
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert [(f["rule"], f["line"]) for f in findings] == [("UPS101", 7)]
    assert findings[0]["sql_origin"]["line"] == 6  # the lookup, where the other half of the idiom is
    outcome = race(project, url, "tags", lambda modules, session: modules["app"].tag(session, "urgent"))
    assert outcome == ((1, ["IntegrityError"]) if unique else (2, []))
