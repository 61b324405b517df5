"""SQLAlchemy upsert constructs are write sites, checked against the model's real table."""

from __future__ import annotations

import json

from auditor.cli import main

MODELS = '''
from sqlalchemy import Integer, String, Table, Column, MetaData, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Visit(Base):
    __tablename__ = "visits"
    id: Mapped[int] = mapped_column(primary_key=True)
    page: Mapped[str] = mapped_column(String(100))
    day: Mapped[str] = mapped_column(String(10))
    hits: Mapped[int]
    __table_args__ = (UniqueConstraint("page", "day"),)


counters = Table("counters", Base.metadata, Column("id", Integer, primary_key=True), Column("name", String(20)), Column("n", Integer))
'''

STORE = '''
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.dialects import sqlite

from app.models import Visit, counters


def count(session, page, day):
    session.execute(
        insert(Visit).values(page=page, day=day, hits=1)
        .on_conflict_do_update(index_elements=[Visit.page, Visit.day], set_={"hits": Visit.hits + 1})
    )


def count_wrong(session, page, day):
    stmt = insert(Visit).values({"page": page, "day": day, "hits": 1})
    stmt = stmt  # rebinding: no longer followed
    session.execute(insert(Visit.__table__).values(page=page).on_conflict_do_nothing(index_elements=["page"]))


def bump(conn, name):
    statement = sqlite.insert(counters).values(name=name, n=1)
    conn.execute(statement.on_conflict_do_update(index_elements=["name"], set_=dict(n=2)))


def by_constraint(session, page, day):
    session.execute(insert(Visit).values(page=page, day=day).on_conflict_do_nothing(constraint="visits_page_day_key"))


def unknown(session):
    session.execute(insert(Elsewhere).values(a=1).on_conflict_do_nothing(index_elements=["a"]))
'''


def test_orm_upserts_are_checked_against_the_models(make_project, capsys):
    project = make_project({"app/__init__.py": "", "app/models.py": MODELS, "app/store.py": STORE,
                            "pyproject.toml": '[tool.upsert-audit]\ndialect = "postgres"\n'})
    assert main(["check", str(project), "--format", "json", "--no-cache"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert sorted((f["rule"], f["line"]) for f in document["findings"]) == [
        ("UPS001", 18),  # on_conflict_do_nothing(index_elements=["page"]): (page) alone is not a key
        ("UPS001", 23),  # counters has no key on name
        ("UPS902", 31),  # Elsewhere is not a model of the project: listed as not checked
    ]
    summary = document["summary"]
    assert summary["write_sites"] == 5 and summary["checked"] == 4
    assert summary["unresolved"] == 1  # Elsewhere is not a model of the project
