"""A `get_or_create` classmethod a project writes on its SQLAlchemy model, raced for real on
PostgreSQL, MariaDB and SQLite. The audit reads the method as the code it is: a
check-then-insert in the classmethod's body (`session.query(cls)...first()`, then
`session.add(cls(...))`), flagged there by UPS101, and never judges the caller's
`Tag.get_or_create(session, name)` as Django's get_or_create (UPS201 would promise that a
unique key makes it safe; here the loser's IntegrityError reaches the caller)."""

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

    @classmethod
    def get_or_create(cls, session, name):
        tag = session.query(cls).filter_by(name=name).first()
        if tag is None:
            tag = cls(name=name)
            session.add(tag)
        return tag
"""

APP = """
from models import Tag


def tag_post(session, name):
    return Tag.get_or_create(session, name)
"""


def write_project(tmp_path, unique: bool):
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "models.py").write_text(MODELS.replace("UNIQUE", str(unique)))
    (tmp_path / "app.py").write_text(APP)
    return tmp_path


def load(project, name):
    spec = importlib.util.spec_from_file_location(name, project / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(params=["postgres", "mysql", "sqlite"])
def engine_url(request, tmp_path):
    """(dialect, SQLAlchemy URL) of a fresh database on each server."""
    if request.param == "postgres":
        return "postgres", request.getfixturevalue("pg_database").replace("postgresql://", "postgresql+psycopg://", 1)
    if request.param == "mysql":
        p = request.getfixturevalue("mariadb_database")
        password = f":{p['password']}" if p["password"] else ""
        return "mysql", f"mysql+pymysql://{p['user']}{password}@{p['host']}:{p['port']}/{p['database']}"
    return "sqlite", f"sqlite:///{tmp_path / 'race.sqlite3'}"


@pytest.mark.parametrize("unique", [False, True], ids=["no-key", "unique-key"])
def test_the_projects_get_or_create_races_where_the_audit_says(unique, engine_url, tmp_path, capsys, monkeypatch):
    sqlalchemy = pytest.importorskip("sqlalchemy")
    from sqlalchemy import create_engine, event, func, select
    from sqlalchemy.orm import scoped_session, sessionmaker

    dialect, url = engine_url
    project = write_project(tmp_path / "project", unique)
    main(["check", str(project), "--format", "json", "--no-cache", "--dialect", dialect])
    findings = [(f["rule"], f["path"], f["line"]) for f in json.loads(capsys.readouterr().out)["findings"]]
    assert findings == [("UPS101", "models.py", 18)]  # the add in the classmethod; the call in app.py is not Django's

    monkeypatch.syspath_prepend(str(project))
    models, app = load(project, "models"), load(project, "app")
    engine = create_engine(url)
    models.Base.metadata.create_all(engine)
    sessions = scoped_session(sessionmaker(engine))
    meet, local, errors = threading.Barrier(2), threading.local(), []
    local.met = True  # this thread's own queries (the count below) meet no one

    @event.listens_for(engine, "after_cursor_execute")
    def meet_after_the_lookup(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and "tags" in statement and not getattr(local, "met", False):
            local.met = True
            meet.wait(timeout=5)  # both requests looked, and found nothing

    def request():
        try:
            app.tag_post(sessions, "urgent")
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
        assert (rows, errors) == ((1, ["IntegrityError"]) if unique else (2, []))
    finally:
        for name in ("models", "app"):
            sys.modules.pop(name, None)
        engine.dispose()
