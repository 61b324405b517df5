"""A check-then-insert whose lookup ignores case (`func.lower(Tag.name) == name.lower()`),
under a unique key on the plain column, raced on the real databases: what UPS101 says.

- PostgreSQL and SQLite compare the key with case: two requests saving "Fiction" and
  "fiction" at once both insert, and the table keeps two rows the lookup takes for one.
- MariaDB's default collation compares without case: the key stops the second request.
- A unique index on lower(name) (PostgreSQL, SQLite) stops it, and is the ON CONFLICT
  target of the fix UPS101 proposes.
"""

from __future__ import annotations

import itertools
import json
import threading

import pytest
from sqlalchemy_race import engine_url, race  # noqa: F401 - engine_url is a fixture

from auditor.cli import main

MODELS = '''
from sqlalchemy import Column, Index, Integer, String, func
from sqlalchemy.orm import declarative_base

Base = declarative_base()


class Tag(Base):
    __tablename__ = "tags"
    id = Column(Integer, primary_key=True)
    name = Column(String(50), unique=True)
'''

LOWER_INDEX = '''
    __table_args__ = (Index("tags_lower", func.lower(name), unique=True),)
'''

APP = '''
from sqlalchemy import func

from models import Tag


def save(session, name):
    if session.query(Tag).filter(func.lower(Tag.name) == name.lower()).first() is None:
        session.add(Tag(name=name))
'''


def write_project(project, lower_index: bool):
    project.mkdir()
    (project / "models.py").write_text(MODELS + (LOWER_INDEX if lower_index else ""))
    (project / "app.py").write_text(APP)
    return project


def two_spellings(*names):
    """A request that saves the next of `names`, one per thread."""
    spellings, lock = itertools.cycle(names), threading.Lock()

    def request(modules, session):
        with lock:
            name = next(spellings)
        modules["app"].save(session, name)

    return request


def test_two_spellings_differing_in_case_pass_a_key_that_compares_with_case(engine_url, tmp_path):
    dialect, url = engine_url
    project = write_project(tmp_path / "project", lower_index=False)
    rows, errors = race(project, url, "tags", two_spellings("Fiction", "fiction"))
    if dialect == "mysql":  # utf8mb4's default collation: 'Fiction' = 'fiction'
        assert (rows, errors) == (1, ["IntegrityError"])
    else:
        assert (rows, errors) == (2, [])


def test_the_same_spelling_is_stopped_by_the_key(engine_url, tmp_path):
    _dialect, url = engine_url
    project = write_project(tmp_path / "project", lower_index=False)
    assert race(project, url, "tags", two_spellings("Fiction")) == (1, ["IntegrityError"])


# MariaDB builds no index on an expression; its default collation already compares without case.
@pytest.mark.parametrize("engine_url", ["postgres", "sqlite"], indirect=True)
def test_a_unique_index_on_lower_stops_both_spellings(engine_url, tmp_path):
    _dialect, url = engine_url
    project = write_project(tmp_path / "project", lower_index=True)
    assert race(project, url, "tags", two_spellings("Fiction", "fiction")) == (1, ["IntegrityError"])


@pytest.mark.parametrize("dialect", ["postgres", "sqlite"])
def test_the_proposed_fix_is_one_row_for_both_spellings(dialect, pg_database, tmp_path):
    """UPS101's fix for the case gap: a unique index on lower(name), then INSERT ... ON CONFLICT
    ((lower(name))). Run as written on the database."""
    schema = "CREATE TABLE tags (id integer PRIMARY KEY, name varchar(50) UNIQUE)"
    index = "CREATE UNIQUE INDEX tags_lower ON tags (lower(name))"
    upsert = "INSERT INTO tags (id, name) VALUES ({id}, '{name}') ON CONFLICT ((lower(name))) DO NOTHING"
    statements = [schema, index, upsert.format(id=1, name="Fiction"), upsert.format(id=2, name="fiction")]
    if dialect == "postgres":
        import psycopg

        with psycopg.connect(pg_database, autocommit=True) as conn:
            for statement in statements:
                conn.execute(statement)
            assert conn.execute("SELECT name FROM tags").fetchall() == [("Fiction",)]
    else:
        import sqlite3

        conn = sqlite3.connect(tmp_path / "fix.sqlite3")
        for statement in statements:
            conn.execute(statement)
        assert conn.execute("SELECT name FROM tags").fetchall() == [("Fiction",)]
        conn.close()


@pytest.mark.parametrize("dialect", ["postgres", "sqlite", "mysql"])
def test_ups101_says_what_the_race_above_does(dialect, tmp_path, capsys):
    for lower_index in (False, True):
        project = write_project(tmp_path / f"project-{lower_index}", lower_index)
        main(["check", str(project), "--format", "json", "--no-cache", "--dialect", dialect])
        [finding] = json.loads(capsys.readouterr().out)["findings"]
        assert finding["rule"] == "UPS101"
        case_gap = dialect != "mysql" and not lower_index
        assert ("values differing only in case both insert" in finding["message"]) is case_gap
        assert ("stops a duplicate" in finding["message"]) is not case_gap
