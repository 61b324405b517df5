"""SQLAlchemy upsert constructs read partially: rows in a variable, a statement built in steps,
set_= written as the code gives it. The table and the conflict target are still checked, the
SQL shown is what the code writes, and what is not known is marked, never invented.

The oracle: the same constructs, built with SQLAlchemy and run on PostgreSQL.
"""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert

from auditor.cli import main

MODELS = '''
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Account(Base):
    __tablename__ = "accounts"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(100), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    updated_at = mapped_column(sa.DateTime)
'''

STORE = '''
from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert

from app.models import Account


def save_many(session, rows):
    stmt = insert(Account).values(rows)
    stmt = stmt.on_conflict_do_update(
        index_elements=["name"],
        set_={"email": stmt.excluded.email, "updated_at": func.now()},
    )
    session.execute(stmt)


def save_ok(session, rows, changes):
    stmt = insert(Account).values(rows)
    stmt = stmt.on_conflict_do_update(index_elements=[Account.email], set_=changes)
    session.execute(stmt)


def touch(session, email):
    stmt = insert(Account).values(email=email, name="x")
    session.execute(stmt.on_conflict_do_update(index_elements=["email"], set_={"updated_at": func.now()}))


def keys_elsewhere(session, row, keys):
    session.execute(insert(Account).values(**row).on_conflict_do_nothing(index_elements=keys))
'''


@pytest.fixture
def audited(make_project, capsys) -> dict:
    project = make_project({"app/__init__.py": "", "app/models.py": MODELS, "app/store.py": STORE})
    main(["check", str(project), "--format", "json", "--no-cache", "--dialect", "postgres"])
    return json.loads(capsys.readouterr().out)


def _site(doc: dict, line: int) -> dict:
    return next(s for s in doc["sites"] if s["path"] == "app/store.py" and s["line"] == line)


def test_a_statement_built_in_steps_with_rows_in_a_variable_is_checked(audited):
    flagged = [(f["line"], f["rule"]) for f in audited["findings"] if f["path"] == "app/store.py" and f["severity"] != "info"]
    assert flagged == [(14, "UPS001")]  # save_many: name is not unique; the rest are right or not known
    finding = next(f for f in audited["findings"] if f["line"] == 14)
    assert finding["sql_origin"]["line"] == 10  # the on_conflict_do_update(...) that names the target
    # what the code writes, with the unknown rows marked
    assert finding["sql"] == (
        "INSERT INTO \"accounts\" ({?}) VALUES ({?}) ON CONFLICT (name) DO UPDATE SET email = EXCLUDED.email, updated_at = now()"
    )


def test_set_given_as_a_variable_still_checks_the_target(audited):
    site = _site(audited, 20)  # save_ok: the target email is unique, set_ is a parameter
    assert site["status"] == "checked" and site["sql"].endswith("ON CONFLICT (email) DO UPDATE SET {?}")


def test_a_touch_of_a_column_the_row_does_not_insert_is_not_an_excluded_read(audited):
    site = _site(audited, 25)
    assert site["sql"].endswith("DO UPDATE SET updated_at = now()")
    assert not [f for f in audited["findings"] if f["line"] == 25]


def test_a_target_given_elsewhere_is_marked_unknown(audited):
    site = _site(audited, 29)
    assert site["status"] == "checked" and "ON CONFLICT ({?}) DO NOTHING" in site["sql"]
    assert not [f for f in audited["findings"] if f["line"] == 29 and f["severity"] != "info"]


def test_postgresql_agrees(pg_database):
    """The constructs of STORE, built with SQLAlchemy on the same model and run: the flagged one
    fails with 42P10, the silent ones succeed."""
    metadata = sa.MetaData()
    accounts = sa.Table(
        "accounts", metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("email", sa.String(100), unique=True),
        sa.Column("name", sa.String(100)),
        sa.Column("updated_at", sa.DateTime),
    )
    engine = sa.create_engine(pg_database.replace("postgresql://", "postgresql+psycopg://"))
    try:
        metadata.create_all(engine)
        rows = [{"email": "a@x", "name": "A"}]
        flagged = insert(accounts).values(rows)
        flagged = flagged.on_conflict_do_update(index_elements=["name"], set_={"email": flagged.excluded.email, "updated_at": sa.func.now()})
        with engine.connect() as conn, pytest.raises(sa.exc.ProgrammingError) as failure:
            conn.execute(flagged)
        assert failure.value.orig.sqlstate == "42P10"
        silent = [
            insert(accounts).values(rows).on_conflict_do_update(index_elements=[accounts.c.email], set_={"name": "B"}),
            insert(accounts).values(email="a@x", name="x").on_conflict_do_update(index_elements=["email"], set_={"updated_at": sa.func.now()}),
            insert(accounts).values(email="a@x", name="x").on_conflict_do_nothing(index_elements=["email"]),
        ]
        with engine.begin() as conn:
            for statement in silent:
                conn.execute(statement)
    finally:
        engine.dispose()
