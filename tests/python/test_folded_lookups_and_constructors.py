"""Two things real SQLAlchemy code writes that the idiom reader must read as they are:

- a lookup that ignores case (`func.lower(M.name) == n`, `func.upper(...)` either side,
  `M.name.ilike(n)`) looks the column up, not exactly (so a unique key on the exact column
  does not back it); any other filter stays an unknown term;
- a model with its own `__init__` writes what that sets on `self` (plus what a
  `super().__init__(**kwargs)` passes on), not the names of its arguments.

(tests/runtime/test_lookup_that_raises_race.py races the case-folded and constructor shapes.)"""

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
    name = Column(String(50), unique=True)
    owner = Column(Integer)


class Note(Base):
    __tablename__ = "notes"
    id = Column(Integer, primary_key=True)
    title = Column(String(50))
    owner = Column(Integer)

    def __init__(self, entry, **kwargs):
        super().__init__(**kwargs)
        self.title = entry["title"]
'''

APP = '''
from sqlalchemy import func

from models import Note, Tag


def lowered(session, name):
    if session.query(Tag).filter(func.lower(Tag.name) == name.lower()).first() is None:
        session.add(Tag(name=name))


def uppered_on_the_right(session, name):
    if not session.query(Tag).filter(name.upper() == func.upper(Tag.name)).first():
        session.add(Tag(name=name))


def insensitive_like(session, name):
    if session.query(Tag).filter(Tag.name.ilike(name)).first() is None:
        session.add(Tag(name=name))


def other_filter(session, name):
    if session.query(Tag).filter(Tag.name.startswith(name)).first() is None:
        session.add(Tag(name=name))


def note(session, entry, owner):
    if session.query(Note).filter_by(title=entry["title"], owner=owner).first() is None:
        session.add(Note(entry, owner=owner))
'''


def _report(make_project, capsys):
    project = make_project({"models.py": MODELS, "app.py": APP})
    main(["check", str(project), "--format", "json", "--no-cache", "--dialect", "postgres"])
    return json.loads(capsys.readouterr().out)


def test_a_case_folded_lookup_is_of_its_column_not_exactly(make_project, capsys):
    doc = _report(make_project, capsys)
    by_line = {f["line"]: f for f in doc["findings"]}
    for line in (9, 14, 19):  # lowered, uppered, ilike
        assert by_line[line]["rule"] == "UPS101"
        assert "on tags by (name)" in by_line[line]["message"]
    # startswith: an unknown term; the lookup names no column the insert writes
    assert 24 not in by_line
    [other] = [s for s in doc["sites"] if s["line"] == 24]
    assert other["status"] == "not an upsert"


def test_a_constructor_of_the_projects_own_writes_what_it_sets(make_project, capsys):
    doc = _report(make_project, capsys)
    [note] = [f for f in doc["findings"] if f["line"] == 29]
    assert note["rule"] == "UPS101"
    assert "no unique key of notes covers (title, owner)" in note["message"]
