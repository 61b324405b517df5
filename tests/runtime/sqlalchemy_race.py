"""Two requests of a SQLAlchemy application meeting between their lookup and their insert,
on a fresh PostgreSQL, MariaDB or SQLite database: the harness the idiom race tests share.
The project's modules are loaded from their files (the same text the audit read)."""

from __future__ import annotations

import importlib.util
import sys
import threading

import pytest


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


def load(project, name):
    spec = importlib.util.spec_from_file_location(name, project / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def race(project, url: str, table: str, request, module_names=("models", "app"), setup=None) -> tuple[int, list[str]]:
    """Load the project's modules, create its tables (then `setup(modules, session)`, committed),
    run `request(modules, session)` from two threads that meet after their first SELECT on
    `table`, commit each; (rows in `table`, the IntegrityErrors raised)."""
    sqlalchemy = pytest.importorskip("sqlalchemy")
    from sqlalchemy import create_engine, event, func, select, table as table_clause
    from sqlalchemy.orm import scoped_session, sessionmaker

    sys.path.insert(0, str(project))
    modules = {name: load(project, name) for name in module_names}
    engine = create_engine(url)
    try:
        modules["models"].Base.metadata.create_all(engine)
        sessions = scoped_session(sessionmaker(engine))
        if setup is not None:
            setup(modules, sessions)
            sessions.commit()
            sessions.remove()
        meet, local, errors = threading.Barrier(2), threading.local(), []
        local.met = True  # this thread's own queries (the count below) meet no one

        @event.listens_for(engine, "after_cursor_execute")
        def meet_after_the_lookup(conn, cursor, statement, parameters, context, executemany):
            if statement.lstrip().upper().startswith("SELECT") and table in statement and not getattr(local, "met", False):
                local.met = True
                meet.wait(timeout=5)  # both requests looked, and found nothing

        def one_request():
            try:
                request(modules, sessions)
                sessions.commit()
            except sqlalchemy.exc.IntegrityError as error:
                errors.append(type(error).__name__)
                sessions.rollback()
            finally:
                sessions.remove()

        threads = [threading.Thread(target=one_request) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        with engine.connect() as conn:
            rows = conn.scalar(select(func.count()).select_from(table_clause(table)))
        return rows, errors
    finally:
        sys.path.remove(str(project))
        for name in module_names:
            sys.modules.pop(name, None)
        engine.dispose()
