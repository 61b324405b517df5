"""`session.merge(instance)` of a parameter whose class is known from its annotation is a
session-merge idiom on that model's table. What the instance carries (its primary key or
not) is not known, so UPS105 does not guess: the idiom is counted as read, and quiet.
(test_orm_races.py runs merge() itself: it finds rows by primary key only.)"""

from __future__ import annotations

import json

from auditor.cli import main

MODELS = '''
from sqlalchemy import Column, Integer, String
from sqlalchemy.orm import declarative_base

Base = declarative_base()


class Tag(Base):
    __tablename__ = "tags"
    id = Column(Integer, primary_key=True)
    name = Column(String(50), nullable=False, unique=True)
'''

APP = '''
from typing import Optional

from models import Tag


def save(session, tag: Tag):
    session.merge(tag)


def save_optional(session, tag: "Optional[Tag]"):
    session.merge(tag)


def save_new(session, name):
    session.merge(Tag(name=name))


def save_number(session, n: int):
    session.merge(n)
'''


def test_a_merge_of_an_annotated_instance_is_read_and_not_guessed(make_project, capsys):
    project = make_project({"models.py": MODELS, "app.py": APP})
    main(["check", str(project), "--format", "json", "--no-cache", "--dialect", "postgres"])
    doc = json.loads(capsys.readouterr().out)
    # only the instance built without its id is known to insert every time
    assert [(f["rule"], f["line"]) for f in doc["findings"]] == [("UPS105", 16)]
    assert doc["summary"]["idioms"] == 3 and doc["summary"]["idioms_unchecked"] == 0
