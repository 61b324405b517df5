"""SQLAlchemy check-then-add as application code writes it, found by UPS101 and raced for
real on PostgreSQL: a lookup (`session.query(M).filter_by(...).first()`, the `M.query`
property Flask-SQLAlchemy gives models, `session.scalar(select(M.id).where(...))`), then
`session.add(...)` of a new object when nothing came back, the object built inline or in a
local first. The session may go by another name (`db`, Pyramid's `request.db`), the lookup
may be by primary key (`M.query.get(k)`, `session.get(M, k)`), the model imported under an
alias. Two requests that meet between the lookup and the insert both insert: two rows
without a unique key, an IntegrityError for the second with one (always, on a primary key)."""

from __future__ import annotations

import importlib.util
import json
import sys
import threading

import pytest

from auditor.cli import main

MODELS = """
from sqlalchemy import Column, Integer, String
from sqlalchemy.orm import declarative_base

Base = declarative_base()


class Tag(Base):
    __tablename__ = "tags"
    id = Column(Integer, primary_key=True)
    name = Column(String(50), nullable=False, unique=UNIQUE)
    color = Column(String(20))
"""

APP = """
from sqlalchemy import select

from models import Tag
from models import Tag as StoredTag


def query_then_local(session, name):
    tag = session.query(Tag).filter_by(name=name).first()
    if tag is None:
        tag = Tag(name=name)
        tag.color = "red"
        session.add(tag)
    return tag


def query_property_then_add(session, name):
    tag = Tag.query.filter_by(name=name).first()
    if not tag:
        session.add(Tag(name=name))


def scalar_of_a_column_then_add(session, name):
    found = session.scalar(select(Tag.id).where(Tag.name == name))
    if found is None:
        session.add(Tag(name=name))


def query_then_merge(session, name):
    if session.query(Tag).filter_by(name=name).first() is None:
        session.merge(Tag(name=name))  # a new object: merge() inserts it, as add() would


def session_called_db(db, name):
    tag = db.query(Tag).filter_by(name=name).first()
    if tag is None:
        db.add(Tag(name=name))


def query_get_by_primary_key(session, name):
    tag = StoredTag.query.get(7)
    if tag is None:
        session.add(StoredTag(id=7, name=name))


def session_get_by_primary_key(session, name):
    if session.get(Tag, 7) is None:
        session.add(Tag(id=7, name=name))
"""

FUNCTIONS = ("query_then_local", "query_property_then_add", "scalar_of_a_column_then_add", "query_then_merge", "session_called_db")
BY_PRIMARY_KEY = ("query_get_by_primary_key", "session_get_by_primary_key")


def write_project(tmp_path, unique: bool):
    (tmp_path / "models.py").write_text(MODELS.replace("UNIQUE", str(unique)))
    (tmp_path / "app.py").write_text(APP)
    return tmp_path


def test_each_shape_is_a_check_then_insert(tmp_path, capsys):
    project = write_project(tmp_path, unique=False)
    main(["check", str(project), "--format", "json", "--no-cache", "--dialect", "postgres"])
    doc = json.loads(capsys.readouterr().out)
    by_line = {f["line"]: f for f in doc["findings"]}
    lines = APP.splitlines()
    writes = [n for n, line in enumerate(lines, 1) if ".add(" in line or ".merge(" in line]
    # each add, and the guarded merge as the insert of its check (not UPS105: that it inserts is meant)
    assert sorted(by_line) == writes and {f["rule"] for f in by_line.values()} == {"UPS101"}
    by_name = [n for n in writes if "id=7" not in lines[n - 1]]
    assert all("no unique key of tags covers (name)" in by_line[n]["message"] for n in by_name)
    by_key = [by_line[n]["message"] for n in writes if n not in by_name]
    assert len(by_key) == 2 and all("tags by (id): the primary key" in m for m in by_key)


def load(project, name):
    spec = importlib.util.spec_from_file_location(name, project / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("unique", [False, True], ids=["no-key", "unique-key"])
@pytest.mark.parametrize("function", FUNCTIONS + BY_PRIMARY_KEY)
def test_two_requests_at_once_both_insert(function, unique, tmp_path, pg_database, monkeypatch):
    sqlalchemy = pytest.importorskip("sqlalchemy")
    from sqlalchemy import create_engine, event, func, select
    from sqlalchemy.orm import scoped_session, sessionmaker

    project = write_project(tmp_path, unique)
    monkeypatch.syspath_prepend(str(project))
    models = load(project, "models")
    app = load(project, "app")
    engine = create_engine(pg_database.replace("postgresql://", "postgresql+psycopg://", 1))
    models.Base.metadata.create_all(engine)
    sessions = scoped_session(sessionmaker(engine))
    models.Tag.query = sessions.query_property()  # what Flask-SQLAlchemy gives every model

    meet, local, errors = threading.Barrier(2), threading.local(), []
    local.met = True  # this thread's own queries (the count below) meet no one

    @event.listens_for(engine, "after_cursor_execute")
    def meet_after_the_lookup(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and not getattr(local, "met", False):
            local.met = True
            meet.wait(timeout=5)  # both requests looked, and found nothing

    def request():
        try:
            getattr(app, function)(sessions, "urgent")
            sessions.commit()
        except sqlalchemy.exc.IntegrityError as error:
            errors.append(type(error).__name__)
            sessions.rollback()
        finally:
            sessions.remove()

    try:
        threads = [threading.Thread(target=request) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        with engine.connect() as conn:
            rows = conn.scalar(select(func.count()).select_from(models.Tag.__table__))
        assert (rows, errors) == ((1, ["IntegrityError"]) if unique or function in BY_PRIMARY_KEY else (2, []))
    finally:
        for name in ("models", "app"):
            sys.modules.pop(name, None)
        engine.dispose()
