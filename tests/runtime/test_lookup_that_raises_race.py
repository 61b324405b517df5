"""A lookup that raises when it finds nothing (`.one()`, NoResultFound), in a helper of another
module of the project, told apart after the `try` by what the handler set:

    try:
        store.get_shelf_by_name(session, name)
    except NoResultFound:
        new = True                     # or: shelf = None
    if not new:
        raise Conflict(...)
    session.add(Shelf(name=name))

is a check-then-insert, flagged by UPS101 and raced for real on PostgreSQL, MariaDB and
SQLite: two requests both find nothing and both insert. So is `except NoResultFound: pass`
with `else: raise Conflict(...)`. The lookup compares `func.lower(Shelf.name)`: the name,
ignoring case. A model with its own `__init__` writes what that sets on `self`, not its
arguments' names. A flag read the other way round (the insert runs only when the row was
found) is not that idiom."""

from __future__ import annotations

import json

import pytest
from sqlalchemy_race import engine_url, race  # noqa: F401 - engine_url is a fixture

from auditor.cli import main

MODELS = """
from sqlalchemy import Column, Integer, String, UniqueConstraint
from sqlalchemy.orm import declarative_base

Base = declarative_base()


class Shelf(Base):
    __tablename__ = "shelves"
    id = Column(Integer, primary_key=True)
    name = Column(String(50), nullable=False, unique=UNIQUE)


class Book(Base):
    __tablename__ = "books"
    id = Column(Integer, primary_key=True)
    shelf_id = Column(Integer, nullable=False)
    title = Column(String(50), nullable=False)
    __table_args__ = BOOK_KEY

    def __init__(self, record, shelf_id):
        self.title = record["title"]
        self.shelf_id = shelf_id
"""

STORE = """
from sqlalchemy import func

from models import Book, Shelf


def get_shelf_by_name(session, name):
    return session.query(Shelf).filter(func.lower(Shelf.name) == name.lower()).one()


def get_book_by_title(session, shelf_id, title):
    return session.query(Book).filter(Book.title == title, Book.shelf_id == shelf_id).first()
"""

APP = """
from sqlalchemy.orm.exc import NoResultFound

import models
import store


def create_flagged(session, name):
    new = False
    try:
        store.get_shelf_by_name(session, name)
    except NoResultFound:
        new = True
    if not new:
        raise ValueError("exists")
    session.add(models.Shelf(name=name))


def create_bound(session, name):
    try:
        shelf = store.get_shelf_by_name(session, name)
    except NoResultFound:
        shelf = None
    if shelf:
        raise ValueError("exists")
    session.add(models.Shelf(name=name))


def create_unless_found(session, name):
    try:
        store.get_shelf_by_name(session, name)
    except NoResultFound:
        pass
    else:
        raise ValueError("exists")
    session.add(models.Shelf(name=name))


def add_book(session, shelf_id, record):
    if store.get_book_by_title(session, shelf_id, record["title"]):
        raise ValueError("exists")
    session.add(models.Book(record, shelf_id))


def rename_existing(session, name):
    new = False
    try:
        store.get_shelf_by_name(session, name)
    except NoResultFound:
        new = True
    if new:
        return
    session.add(models.Shelf(name=name + " (copy)"))  # only when the row is there
"""

SHELF_REQUESTS = {
    "flag": lambda modules, session: modules["app"].create_flagged(session, "fiction"),  # line 16
    "bound": lambda modules, session: modules["app"].create_bound(session, "fiction"),  # line 26
    "else": lambda modules, session: modules["app"].create_unless_found(session, "fiction"),  # line 36
}


def write_project(project, unique: bool):
    project.mkdir()
    book_key = '(UniqueConstraint("shelf_id", "title"),)' if unique else "()"
    (project / "models.py").write_text(MODELS.replace("UNIQUE", str(unique)).replace("BOOK_KEY", book_key))
    (project / "store.py").write_text(STORE)
    (project / "app.py").write_text(APP)
    return project


@pytest.mark.parametrize("dialect", ["postgres", "mysql", "sqlite"])
def test_the_shapes_are_flagged_and_the_inverted_flag_is_not(dialect, tmp_path, capsys):
    project = write_project(tmp_path / "project", unique=False)
    main(["check", str(project), "--format", "json", "--no-cache", "--dialect", dialect])
    doc = json.loads(capsys.readouterr().out)
    assert [(f["rule"], f["path"], f["line"]) for f in doc["findings"]] == [
        ("UPS101", "app.py", 16), ("UPS101", "app.py", 26), ("UPS101", "app.py", 36), ("UPS101", "app.py", 42)]
    assert ["no unique key of shelves covers (name)" in f["message"] for f in doc["findings"]] == [True, True, True, False]
    assert "no unique key of books covers (title, shelf_id)" in doc["findings"][3]["message"]


@pytest.mark.parametrize("unique", [False, True], ids=["no-key", "unique-key"])
@pytest.mark.parametrize("shape", sorted(SHELF_REQUESTS))
def test_two_requests_both_find_nothing_and_insert(shape, unique, engine_url, tmp_path):
    _dialect, url = engine_url
    project = write_project(tmp_path / "project", unique)
    rows = race(project, url, "shelves", SHELF_REQUESTS[shape], module_names=("models", "store", "app"))
    assert rows == ((1, ["IntegrityError"]) if unique else (2, []))


@pytest.mark.parametrize("unique", [False, True], ids=["no-key", "unique-key"])
def test_two_requests_add_the_same_book(unique, engine_url, tmp_path):
    _dialect, url = engine_url
    project = write_project(tmp_path / "project", unique)

    def add(modules, session):
        modules["app"].add_book(session, 1, {"title": "Dune"})

    assert race(project, url, "books", add, module_names=("models", "store", "app")) == ((1, ["IntegrityError"]) if unique else (2, []))
