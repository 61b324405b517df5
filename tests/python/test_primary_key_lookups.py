"""A lookup by primary key (`M.query.get(k)`, `session.query(M).get(k)`, `session.get(M, k)`)
is a lookup of the model's one-column primary key, which the SQLAlchemy reader names `M.pk`.
Where the key has several columns (or the model none the reader knows), the idiom is
unchecked with that reason, never judged against a column called "pk".
(tests/runtime/test_sqlalchemy_check_then_add.py races the one-column case on PostgreSQL.)"""

from __future__ import annotations

import json

from auditor.cli import main

MODELS = '''
from sqlalchemy import Column, Integer, String
from sqlalchemy.orm import declarative_base

Base = declarative_base()


class Tag(Base):
    __tablename__ = "tags"
    tag_id = Column(Integer, primary_key=True)
    name = Column(String(50))


class Pair(Base):
    __tablename__ = "pairs"
    left = Column(Integer, primary_key=True)
    right = Column(Integer, primary_key=True)
'''

APP = '''
from models import Pair, Tag


def by_query(session, k):
    if session.query(Tag).get(k) is None:
        session.add(Tag(tag_id=k))


def by_composite_key(session, k):
    if Pair.query.get(k) is None:
        session.add(Pair(left=k, right=k))
'''


def test_a_lookup_by_primary_key_is_checked_on_its_column_or_left_unchecked(make_project, capsys):
    project = make_project({"models.py": MODELS, "app.py": APP})
    main(["check", str(project), "--format", "json", "--no-cache", "--dialect", "postgres"])
    doc = json.loads(capsys.readouterr().out)
    [finding] = doc["findings"]
    assert (finding["rule"], finding["line"]) == ("UPS101", 7)
    assert "tags by (tag_id): the primary key" in finding["message"]
    [unchecked] = [s for s in doc["sites"] if s["status"] != "checked"]
    assert unchecked["line"] == 12 and unchecked["detail"] == "the primary key of Pair is not known (none, or of several columns)"


ANDED = '''
from sqlalchemy import and_

from models import Tag


def by_operator(session, name, k):
    if session.query(Tag).filter((Tag.name == name) & (Tag.tag_id == k)).first() is None:
        session.add(Tag(name=name, tag_id=k))


def by_function(session, name, k):
    if session.query(Tag).filter(and_(Tag.name == name, Tag.tag_id == k)).first() is None:
        session.add(Tag(name=name, tag_id=k))
'''


def test_terms_anded_with_an_operator_or_and_are_the_lookup(make_project, capsys):
    """warehouse's `filter((Release.project == p) & (Release.canonical_version == v))`."""
    project = make_project({"models.py": MODELS, "app.py": ANDED})
    main(["check", str(project), "--format", "json", "--no-cache", "--dialect", "postgres"])
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert [(f["rule"], f["line"]) for f in findings] == [("UPS101", 9), ("UPS101", 14)]
    assert all("on tags by (name, tag_id): the primary key" in f["message"] for f in findings)
