"""Where the path that found nothing goes: after `if found: raise` the insert may follow in the
same block, or after the enclosing `if` / `with` block (lnbits' create_user_account checks
inside `if account:` and creates after it); `if name and taken(name): raise` found a row in
its body. A loop's body is followed by the loop again, not by what comes after it."""

from __future__ import annotations

import json

from auditor.cli import main

MODELS = '''
from sqlalchemy import Column, Integer, String
from sqlalchemy.orm import declarative_base

Base = declarative_base()


class User(Base):
    __tablename__ = "users"
    id = Column(Integer, primary_key=True)
    name = Column(String(50))
'''

APP = '''
from models import User


def register(session, account):
    with session.begin():
        if account:
            if session.query(User).filter_by(name=account.name).first():
                raise ValueError("taken")
        session.add(User(name=account.name))


def register_named(session, name):
    if name and session.query(User).filter_by(name=name).first():
        raise ValueError("taken")
    session.add(User(name=name))


def import_all(session, names):
    for name in names:
        if session.query(User).filter_by(name=name).first():
            continue
    session.add(User(name="admin"))  # after the loop: no lookup of its own decides it
'''


def test_the_insert_on_the_path_that_found_nothing(make_project, capsys):
    project = make_project({"models.py": MODELS, "app.py": APP})
    main(["check", str(project), "--format", "json", "--no-cache", "--dialect", "postgres"])
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert [(f["rule"], f["line"]) for f in findings] == [("UPS101", 10), ("UPS101", 16)]
    assert all("no unique key of users covers (name)" in f["message"] for f in findings)
