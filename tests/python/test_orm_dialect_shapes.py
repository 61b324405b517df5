"""ORM calls whose SQL depends on the database: REPLACE / IGNORE prefixes, MySQL's
on_duplicate_key_update, index_where, peewee replace() and insert_many(). Each is audited as
the SQL the ORM emits on the site's dialect; the ORM itself, compiling the same query for
that database, is the oracle for which SQL that is."""

from __future__ import annotations

import json

import peewee
import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert
from sqlalchemy.dialects import mysql, sqlite

from auditor.cli import main

SA_MODELS = '''
from sqlalchemy import Column, Index, Integer, MetaData, String, Table, text

metadata = MetaData()
users = Table("users", metadata, Column("id", Integer, primary_key=True), Column("email", String(100), nullable=False),
              Column("status", String(10)), Column("n", Integer))
Index("users_active_email", users.c.email, unique=True, sqlite_where=text("status = 'active'"),
      postgresql_where=text("status = 'active'"))
'''

SA_STORE = '''
from sqlalchemy import insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app.models import users


def replace(conn, id, email):
    conn.execute(insert(users).values(id=id, email=email).prefix_with("OR REPLACE"))


def ignore(conn, id, email):
    conn.execute(insert(users).values(id=id, email=email).prefix_with("OR IGNORE"))


def active_ok(conn, email):
    conn.execute(sqlite_insert(users).values(email=email, status="active")
                 .on_conflict_do_nothing(index_elements=["email"], index_where=users.c.status == "active"))


def active_missing_predicate(conn, email):
    conn.execute(sqlite_insert(users).values(email=email, status="active").on_conflict_do_nothing(index_elements=["email"]))
'''

MYSQL_STORE = '''
import pymysql
from sqlalchemy.dialects.mysql import insert

from app.models import users


def bump(conn, email):
    stmt = insert(users).values(email=email, n=1)
    conn.execute(stmt.on_duplicate_key_update(n=stmt.inserted.n))
'''

PEEWEE_MODELS = '''
from peewee import CharField, IntegerField, Model, SqliteDatabase

db = SqliteDatabase("app.db")


class Account(Model):
    email = CharField(unique=True)
    logins = IntegerField(default=0)

    class Meta:
        database = db


def save(email):
    Account.replace(email=email).execute()


def save_all(rows):
    Account.insert_many(rows).on_conflict_replace().execute()


def register(email):
    Account.insert(email=email).on_conflict_ignore().execute()


def bump(rows):
    Account.insert_many(rows).on_conflict(conflict_target=[Account.email], preserve=[Account.logins]).execute()
'''


def audit(project, capsys, *args) -> list[tuple[str, str, int]]:
    main(["check", str(project), "--format", "json", "--no-cache", *args])
    doc = json.loads(capsys.readouterr().out)
    return sorted((f["rule"], f["path"], f["line"]) for f in doc["findings"] if f["severity"] != "info")


def test_sqlalchemy_prefixes_and_index_where_on_sqlite(make_project, capsys):
    project = make_project({"app/__init__.py": "", "app/models.py": SA_MODELS, "app/store.py": SA_STORE})
    assert audit(project, capsys, "--dialect", "sqlite") == [
        ("UPS002", "app/store.py", 22),  # the partial index needs its predicate; line 17 gives it
        ("UPS301", "app/store.py", 9),
        # line 13's OR IGNORE writes every NOT NULL column: it can only skip a duplicate key, as asked
    ]
    users = Table("users", MetaData(), Column("id", Integer, primary_key=True), Column("email", String(100)))
    for prefix, emitted in (("OR REPLACE", "INSERT OR REPLACE INTO"), ("OR IGNORE", "INSERT OR IGNORE INTO")):
        assert str(insert(users).values(id=1).prefix_with(prefix).compile(dialect=sqlite.dialect())).startswith(emitted)


def test_sqlalchemy_on_duplicate_key_update_is_checked_on_mysql(make_project, capsys):
    project = make_project({"app/__init__.py": "", "app/models.py": SA_MODELS, "app/store.py": MYSQL_STORE})
    # email is not unique without the partial index (MySQL drops the WHERE: a full unique index
    # on MySQL, catalog C51), so with the index the upsert is fine ...
    assert ("UPS001", "app/store.py", 10) not in audit(project, capsys, "--dialect", "mysql")
    # ... and without any key on email it never fires.
    project = make_project({"app/models.py": SA_MODELS.split("Index(")[0]})
    assert ("UPS001", "app/store.py", 10) in audit(project, capsys, "--dialect", "mysql")
    stmt = mysql.insert(Table("users", MetaData(), Column("email", String(10)), Column("n", Integer))).values(email="a", n=1)
    compiled = str(stmt.on_duplicate_key_update(n=stmt.inserted.n).compile(dialect=mysql.dialect()))
    assert "ON DUPLICATE KEY UPDATE n = VALUES(n)" in compiled


@pytest.mark.parametrize(("dialect", "expected"), [
    ("sqlite", [("UPS301", 16), ("UPS301", 20), ("UPS303", 24)]),
    ("mysql", [("UPS301", 16), ("UPS301", 20), ("UPS303", 24)]),
    ("postgres", []),
])
def test_peewee_replace_ignore_and_insert_many(make_project, capsys, dialect, expected):
    project = make_project({"models.py": PEEWEE_MODELS})
    assert [(rule, line) for rule, _, line in audit(project, capsys, "--dialect", dialect)] == expected


def test_peewee_emits_what_the_audit_reads():
    database = {"sqlite": peewee.SqliteDatabase(":memory:"), "mysql": peewee.MySQLDatabase("x")}

    class Account(peewee.Model):
        email = peewee.CharField(unique=True)

    for name, db in database.items():
        with db.bind_ctx([Account]):
            assert Account.replace(email="a").sql()[0].startswith("REPLACE INTO" if name == "mysql" else "INSERT OR REPLACE INTO")
            ignore = Account.insert(email="a").on_conflict_ignore().sql()[0]
            assert ignore.startswith("INSERT IGNORE INTO" if name == "mysql" else "INSERT OR IGNORE INTO")
    with peewee.PostgresqlDatabase("x").bind_ctx([Account]):
        assert "ON CONFLICT DO NOTHING" in Account.insert(email="a").on_conflict_ignore().sql()[0]
