"""A keyed check-then-add whose insert is wrapped in `try/except IntegrityError` handles the
race only if the SQLAlchemy session is usable afterwards: the handler must roll it back (or
the insert run in `begin_nested()`). Otherwise the session keeps its failed transaction and
its next use raises PendingRollbackError (mautrix-telegram's file transfer, fixed by adding
`db.rollback()`). UPS101 says `info` only for the handled shapes; raced for real on
PostgreSQL, MariaDB and SQLite, the loser then uses its session again."""

from __future__ import annotations

import json
import sys
import threading

import pytest

from sqlalchemy_race import engine_url, load  # noqa: F401 - engine_url is a fixture

from auditor.cli import main

MODELS = """
from sqlalchemy import Column, Integer, String
from sqlalchemy.orm import declarative_base

Base = declarative_base()


class TelegramFile(Base):
    __tablename__ = "telegram_file"
    id = Column(String(40), primary_key=True)
    mxc = Column(String(100))
"""

APP = """
from sqlalchemy.exc import IntegrityError

from models import TelegramFile


def caught_only(db, id):
    if db.get(TelegramFile, id) is None:
        try:
            db.add(TelegramFile(id=id, mxc="mxc://a"))
            db.commit()
        except IntegrityError:
            pass


def caught_and_rolled_back(db, id):
    if db.get(TelegramFile, id) is None:
        try:
            db.add(TelegramFile(id=id, mxc="mxc://a"))
            db.commit()
        except IntegrityError:
            db.rollback()


def caught_in_a_savepoint(db, id):
    if db.get(TelegramFile, id) is None:
        try:
            with db.begin_nested():
                db.add(TelegramFile(id=id, mxc="mxc://a"))
        except IntegrityError:
            pass
        db.commit()
"""

# function -> (severity UPS101 gives it, whether the loser's session is usable afterwards)
CASES = {"caught_only": ("warning", False), "caught_and_rolled_back": ("info", True), "caught_in_a_savepoint": ("info", True)}




def test_only_a_handler_that_leaves_the_session_usable_is_info(make_project, capsys):
    project = make_project({"models.py": MODELS, "app.py": APP})
    main(["check", str(project), "--format", "json", "--no-cache", "--dialect", "postgres"])
    findings = json.loads(capsys.readouterr().out)["findings"]
    lines = APP.splitlines()
    starts = {name: next(n for n, line in enumerate(lines, 1) if line.startswith(f"def {name}(")) for name in CASES}
    severity = {name: next(f["severity"] for f in findings if f["rule"] == "UPS101" and 0 < f["line"] - start < 8) for name, start in starts.items()}
    assert severity == {name: expected for name, (expected, _usable) in CASES.items()}


@pytest.mark.parametrize("function", sorted(CASES))
def test_the_losers_session_after_the_caught_violation(function, engine_url, make_project, monkeypatch):
    pytest.importorskip("sqlalchemy")
    from sqlalchemy import create_engine, event, func, select
    from sqlalchemy.exc import PendingRollbackError
    from sqlalchemy.orm import Session

    _dialect, url = engine_url
    project = make_project({"models.py": MODELS, "app.py": APP})
    monkeypatch.syspath_prepend(str(project))
    models, app = load(project, "models"), load(project, "app")
    engine = create_engine(url)
    models.Base.metadata.create_all(engine)
    meet, local, usable = threading.Barrier(2), threading.local(), []
    local.met = True

    @event.listens_for(engine, "after_cursor_execute")
    def meet_after_the_lookup(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and "telegram_file" in statement and not getattr(local, "met", False):
            local.met = True
            meet.wait(timeout=5)  # both transfers looked for the file and found none

    def transfer():
        with Session(engine) as db:
            getattr(app, function)(db, "doc-1")
            local.met = True
            try:  # the transfer goes on with its session
                usable.append(db.scalar(select(func.count()).select_from(models.TelegramFile)) == 1)
            except PendingRollbackError:
                usable.append(False)

    try:
        threads = [threading.Thread(target=transfer) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        expected_usable = CASES[function][1]
        assert sorted(usable) == sorted([True, expected_usable])  # the winner's session is always fine
    finally:
        for name in ("models", "app"):
            sys.modules.pop(name, None)
        engine.dispose()
