"""A lookup and an insert written with a many-to-one relationship's name (`filter_by(user=u)`,
`Role(user=u)`) are about its foreign-key column (user_id): the SQLAlchemy reader maps the
name where the model has one foreign key to the target's table, so UPS101 judges the real
key (warehouse's `_roles_user_project_uc`), not a column called "user" that no key covers.
Raced for real on PostgreSQL: the loser's insert fails with an IntegrityError."""

from __future__ import annotations

import json
import sys
import threading

import pytest

from sqlalchemy_race import load

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


def test_two_requests_at_once_and_the_second_fails(make_project, pg_database, monkeypatch):
    sqlalchemy = pytest.importorskip("sqlalchemy")
    from sqlalchemy import create_engine, event, func, select
    from sqlalchemy.orm import Session

    project = make_project({"models.py": MODELS, "app.py": APP})
    monkeypatch.syspath_prepend(str(project))
    models, app = load(project, "models"), load(project, "app")
    engine = create_engine(pg_database.replace("postgresql://", "postgresql+psycopg://", 1))
    models.Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add_all([models.User(id=1), models.Project(id=1)])
        session.commit()
    meet, local, errors = threading.Barrier(2), threading.local(), []
    local.met = True  # this thread's own count below meets no one

    @event.listens_for(engine, "after_cursor_execute")
    def meet_after_the_lookup(conn, cursor, statement, parameters, context, executemany):
        if "FROM roles" in statement and not getattr(local, "met", False):
            local.met = True
            meet.wait(timeout=5)  # both looked for the role and found none

    def request():
        with Session(engine) as db:
            try:
                app.add_role(db, db.get(models.User, 1), db.get(models.Project, 1))
                db.commit()
            except sqlalchemy.exc.IntegrityError as error:
                errors.append(type(error.orig).__name__)

    try:
        threads = [threading.Thread(target=request) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        with engine.connect() as conn:
            assert conn.scalar(select(func.count()).select_from(models.Role.__table__)) == 1
        assert errors == ["UniqueViolation"]
    finally:
        for name in ("models", "app"):
            sys.modules.pop(name, None)
        engine.dispose()
