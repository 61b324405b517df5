"""A lookup and an insert written with a many-to-one relationship's name (`filter_by(user=u)`,
`Role(user=u)`) are about its foreign-key column (user_id): the SQLAlchemy reader maps the
name where the model has one foreign key to the target's table, so UPS101 judges the real
key (warehouse's `_roles_user_project_uc`), not a column called "user" that no key covers.
Raced for real on PostgreSQL, MariaDB and SQLite: the loser's insert fails with an IntegrityError."""

from __future__ import annotations

import json

import pytest

from sqlalchemy_race import engine_url, race  # noqa: F401 - engine_url is a fixture

from auditor.cli import main

MODELS = """
from typing import Optional

from sqlalchemy import ForeignKey, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)


class Project(Base):
    __tablename__ = "projects"
    id: Mapped[int] = mapped_column(primary_key=True)


class Role(Base):
    __tablename__ = "roles"
    __table_args__ = (UniqueConstraint("user_id", "project_id", name="roles_user_project_uc"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    user: Mapped[User] = relationship()
    project: Mapped[Optional["Project"]] = relationship()
"""

APP = """
from models import Role


def add_role(db, user, project):
    if db.query(Role).filter_by(user=user, project=project).first() is None:
        db.add(Role(user=user, project=project))
"""



def test_the_relationship_names_its_foreign_key_column(make_project, capsys):
    project = make_project({"models.py": MODELS, "app.py": APP})
    main(["check", str(project), "--format", "json", "--no-cache", "--dialect", "postgres"])
    [finding] = json.loads(capsys.readouterr().out)["findings"]
    assert (finding["rule"], finding["line"], finding["severity"]) == ("UPS101", 7, "warning")
    assert "on roles by (user_id, project_id): the unique constraint roles_user_project_uc" in finding["message"]


def test_two_requests_at_once_and_the_second_fails(engine_url, make_project):
    _dialect, url = engine_url
    project = make_project({"models.py": MODELS, "app.py": APP})

    def setup(modules, session):
        session.add_all([modules["models"].User(id=1), modules["models"].Project(id=1)])

    def request(modules, session):
        models = modules["models"]
        modules["app"].add_role(session, session.get(models.User, 1), session.get(models.Project, 1))

    assert race(project, url, "roles", request, setup=setup) == (1, ["IntegrityError"])
