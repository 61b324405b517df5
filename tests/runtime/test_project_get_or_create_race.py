"""A `get_or_create` classmethod a project writes on its SQLAlchemy model, raced for real on
PostgreSQL, MariaDB and SQLite. The audit reads the method as the code it is: a
check-then-insert in the classmethod's body (`session.query(cls)...first()`, then
`session.add(cls(...))`), flagged there by UPS101, and never judges the caller's
`Tag.get_or_create(session, name)` as Django's get_or_create (UPS201 would promise that a
unique key makes it safe; here the loser's IntegrityError reaches the caller)."""

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


@pytest.mark.parametrize("unique", [False, True], ids=["no-key", "unique-key"])
def test_the_projects_get_or_create_races_where_the_audit_says(unique, engine_url, tmp_path, capsys):
    dialect, url = engine_url
    project = tmp_path / "project"
    project.mkdir()
    (project / "models.py").write_text(MODELS.replace("UNIQUE", str(unique)))
    (project / "app.py").write_text(APP)
    main(["check", str(project), "--format", "json", "--no-cache", "--dialect", dialect])
    findings = [(f["rule"], f["path"], f["line"]) for f in json.loads(capsys.readouterr().out)["findings"]]
    assert findings == [("UPS101", "models.py", 18)]  # the add in the classmethod; the call in app.py is not Django's
    outcome = race(project, url, "tags", lambda modules, session: modules["app"].tag_post(session, "urgent"))
    assert outcome == ((1, ["IntegrityError"]) if unique else (2, []))
