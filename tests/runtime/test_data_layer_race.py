"""Check and write in two functions of a data layer in another module of the project (lnbits'
`crud`: `if await get_webpush_subscription(...): return ...` then `create_webpush_subscription(...)`),
called one after the other from a view: each function is read one level deep in its own module
(imported by name, through a package's re-export, or as `crud.f(...)`), so the pair is the
check-then-insert it is, flagged by UPS101 and raced for real on PostgreSQL, MariaDB and SQLite."""

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

CRUD = """
from sqlalchemy import text

from models import Tag


def get_tag(session, name):
    return session.execute(text("SELECT id FROM tags WHERE name = :name"), {"name": name}).first()


def create_tag(session, name):
    session.execute(text("INSERT INTO tags (name) VALUES (:name)"), {"name": name})


def find(session, name):
    return session.query(Tag).filter_by(name=name).first()


def insert(session, name):
    session.add(Tag(name=name))
"""

VIEWS = """
import crud
from crud import create_tag, get_tag


def add_tag(session, name):
    if get_tag(session, name) is None:
        create_tag(session, name)


def add_tag_through_the_module(session, name):
    if not crud.find(session, name):
        crud.insert(session, name)


def add_tag_unchecked(session, name):
    create_tag(session, name)  # no lookup: not a check-then-insert
"""

# lnbits' shape: a package re-exporting its data layer, a wrapper's `fetchone("SELECT ...")` and
# `insert("table", row)`; read, not run (the wrapper is the application's own)
PACKAGE = {
    "data/__init__.py": "from .tags import create_tag, get_tag\n",
    "data/tags.py": '''
from app.db import db


async def get_tag(name, conn=None):
    return await (conn or db).fetchone("SELECT * FROM tags WHERE name = :name", {"name": name})


async def create_tag(tag, conn=None):
    await (conn or db).insert("tags", tag)
''',
    "app/__init__.py": "",
    "app/db.py": "db = None\n",
    "app/views.py": '''
from data import create_tag, get_tag


async def api_create_tag(tag):
    found = await get_tag(tag.name)
    if found:
        return found
    else:
        return await create_tag(tag)
''',
}

REQUESTS = {
    "imported_functions": lambda modules, session: modules["views"].add_tag(session, "urgent"),
    "module_attribute": lambda modules, session: modules["views"].add_tag_through_the_module(session, "urgent"),
}


def write_project(project, unique: bool):
    project.mkdir()
    (project / "models.py").write_text(MODELS.replace("UNIQUE", str(unique)))
    (project / "crud.py").write_text(CRUD)
    (project / "views.py").write_text(VIEWS)
    return project


@pytest.mark.parametrize("dialect", ["postgres", "mysql", "sqlite"])
def test_the_pairs_are_flagged_where_the_view_writes(dialect, tmp_path, capsys):
    project = write_project(tmp_path / "project", unique=False)
    main(["check", str(project), "--format", "json", "--no-cache", "--dialect", dialect])
    doc = json.loads(capsys.readouterr().out)
    assert [(f["rule"], f["path"], f["line"]) for f in doc["findings"]] == [("UPS101", "views.py", 8), ("UPS101", "views.py", 13)]
    assert all("no unique key of tags covers (name)" in f["message"] for f in doc["findings"])


def test_a_packaged_data_layer_of_a_database_wrapper(make_project, capsys):
    project = make_project({"models.py": MODELS.replace("UNIQUE", "True"), **PACKAGE})
    main(["check", str(project), "--format", "json", "--no-cache", "--dialect", "postgres"])
    doc = json.loads(capsys.readouterr().out)
    [finding] = doc["findings"]
    assert (finding["rule"], finding["path"], finding["line"]) == ("UPS101", "app/views.py", 10)
    assert "on tags by (name): the unique constraint" in finding["message"]


@pytest.mark.parametrize("unique", [False, True], ids=["no-key", "unique-key"])
@pytest.mark.parametrize("shape", sorted(REQUESTS))
def test_two_requests_through_the_data_layer_both_insert(shape, unique, engine_url, tmp_path):
    _dialect, url = engine_url
    project = write_project(tmp_path / "project", unique)
    outcome = race(project, url, "tags", REQUESTS[shape], module_names=("models", "crud", "views"))
    assert outcome == ((1, ["IntegrityError"]) if unique else (2, []))
