"""Two things real SQLAlchemy code writes that the idiom reader must read as they are:

- a lookup that ignores case (`func.lower(M.name) == n`, `func.upper(...)` either side,
  `M.name.ilike(n)`) looks the column up, not exactly: a unique key on the column backs it only
  where the key compares without case too (MariaDB's default collation, citext), a unique index
  on lower(name) everywhere; any other filter stays an unknown term;
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


LOWERED = '''
from sqlalchemy import func

from models import Tag


def lowered(session, name):
    if session.query(Tag).filter(func.lower(Tag.name) == name.lower()).first() is None:
        session.add(Tag(name=name))
'''


RAW_LOWERED = """
import psycopg


def save(conn, name):
    if conn.execute("SELECT id FROM tags WHERE lower(name) = lower(%s)", (name,)).fetchone() is None:
        conn.execute("INSERT INTO tags (name) VALUES (%s)", (name,))
"""


def _findings(make_project, capsys, dialect, schema=None):
    files = {"app.py": RAW_LOWERED, "schema.sql": schema} if schema else {"app.py": LOWERED, "models.py": MODELS}
    project = make_project(files)
    main(["check", str(project), "--format", "json", "--no-cache", "--dialect", dialect])
    return json.loads(capsys.readouterr().out)["findings"]


def test_a_key_that_compares_with_case_does_not_stop_case_variants(make_project, capsys):
    for dialect, caveat in (("postgres", "only a citext column"), ("sqlite", "COLLATE NOCASE")):
        [finding] = _findings(make_project, capsys, dialect)
        assert finding["rule"] == "UPS101" and finding["severity"] == "warning"
        assert "the lookup compares (name) ignoring case" in finding["message"] and caveat in finding["message"]
        assert "values differing only in case both insert" in finding["message"]
        assert "Add a unique index on (lower(name)) to tags" in finding["fix"]
        assert "ON CONFLICT ((lower(name)))" in finding["fix"]
    # MariaDB's and MySQL's default collations compare without case: the key stops the duplicate
    [finding] = _findings(make_project, capsys, "mysql")
    assert "stops a duplicate" in finding["message"] and "ignoring case" not in finding["message"]


def test_a_key_on_the_lookups_own_comparison_stops_the_duplicate(make_project, capsys):
    lowered_index = "CREATE TABLE tags (id serial PRIMARY KEY, name text UNIQUE);\nCREATE UNIQUE INDEX tags_lower ON tags (lower(name));\n"
    [finding] = _findings(make_project, capsys, "postgres", lowered_index)
    assert "the unique index tags_lower (lower(name)) stops a duplicate" in finding["message"]
    [finding] = _findings(make_project, capsys, "postgres", "CREATE TABLE tags (id serial PRIMARY KEY, name citext UNIQUE);\n")
    assert "tags_name_key (name) stops a duplicate" in finding["message"]
    [finding] = _findings(make_project, capsys, "postgres", "CREATE TABLE tags (id serial PRIMARY KEY, name text UNIQUE);\n")
    assert "the lookup compares (name) ignoring case" in finding["message"]


RENAME_IGNORING_CASE = """
import psycopg


def rename(conn, user_id, name):
    taken = conn.execute("SELECT 1 FROM users WHERE lower(name) = lower(%s)", (name,)).fetchone()
    if taken:
        return "Username already taken."
    try:
        with conn.transaction():
            conn.execute("UPDATE users SET name = %s WHERE id = %s", (name, user_id))
    except psycopg.errors.UniqueViolation:
        return "Username already taken."
"""


def test_a_check_then_update_ignoring_case_is_not_handled_by_catching_the_violation(make_project, capsys):
    project = make_project({"app.py": RENAME_IGNORING_CASE,
                            "schema.sql": "CREATE TABLE users (id int PRIMARY KEY, name varchar(30) NOT NULL UNIQUE);\n"})
    main(["check", str(project), "--format", "json", "--no-cache", "--dialect", "postgres"])
    [finding] = json.loads(capsys.readouterr().out)["findings"]
    assert finding["rule"] == "UPS108" and finding["severity"] == "warning"  # not info: case variants get through
    assert "values differing only in case both update" in finding["message"]
    assert finding["fix"].startswith("Add a unique index on (lower(name)) to users")
