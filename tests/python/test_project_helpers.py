"""The project's own helpers are sinks without configuration: each call of a function whose
parameters reach the SQL of an execute-like call is checked with the arguments at that call.

What a finding claims is run on PostgreSQL: the statement the audit says the helper runs at a
flagged call fails there, and the one at a silent call succeeds.
"""

from __future__ import annotations

import json

import psycopg
import pytest

from auditor.cli import main

SCHEMA = """
CREATE TABLE users (id serial PRIMARY KEY, email text NOT NULL UNIQUE, name text);
CREATE TABLE tags (id serial PRIMARY KEY, label text NOT NULL UNIQUE);
"""

DB = '''
import psycopg

def upsert(cur, table, keys, row):
    """INSERT ... ON CONFLICT built from its arguments: table, key columns and the row."""
    cols = ", ".join(row)
    cur.execute(
        f"INSERT INTO {table} ({cols}) VALUES ({', '.join(['%s'] * len(row))}) "
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET "
        + ", ".join(f"{c} = EXCLUDED.{c}" for c in row),
        list(row.values()),
    )

def insert_ignore(cur, table, key="label", value=None):
    cur.execute("INSERT INTO %s (%s) VALUES (%%s) ON CONFLICT (%s) DO NOTHING" % (table, key, key), (value,))

def save_user(cur, email, name, key="email"):
    upsert(cur, "users", [key], {"email": email, "name": name})  # a helper calling a helper

class Store:
    def __init__(self, cur):
        self.cur = cur

    def _run(self, sql, *args):
        self.cur.execute(sql, args)

    def add_tag(self, label):
        self._run("INSERT INTO tags (label) VALUES (%s) ON CONFLICT (label) DO NOTHING", label)

    def add_user(self, email):
        self._run("INSERT INTO users (email, name) VALUES (%s, '') ON CONFLICT (name) DO NOTHING", email)
'''

# No execute-like call in this module: it is read because it calls the project's helpers.
SERVICE = '''
from app.db import upsert, insert_ignore, save_user
from app import db

def register(cur, email, name):
    upsert(cur, "users", ["email"], {"email": email, "name": name})   # email is unique: fine
    upsert(cur, "users", ["name"], {"email": email, "name": name})    # name is not: 42P10
    db.upsert(cur, table="tags", keys=("label",), row={"label": name})  # fine, keywords and module
    insert_ignore(cur, "tags", value=name)                               # default key: fine
    insert_ignore(cur, "users", "email", name)                           # email is unique: fine
    save_user(cur, email, name)                                          # two levels, default key: fine
    save_user(cur, email, name, key="name")                              # two levels: 42P10
'''


def audit(make_project, capsys, files: dict) -> dict:
    project = make_project({"schema.sql": SCHEMA, "app/__init__.py": "", **files})
    main(["check", str(project), "--format", "json", "--no-cache", "--dialect", "postgres"])
    return json.loads(capsys.readouterr().out)


def findings_at(doc: dict, path: str) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for f in doc["findings"]:
        if f["path"] == path and f["severity"] != "info":
            found.setdefault(f["line"], []).append(f["rule"])
    return found


def test_each_call_of_a_helper_is_checked_with_its_arguments(make_project, capsys):
    doc = audit(make_project, capsys, {"app/db.py": DB, "app/service.py": SERVICE})
    assert findings_at(doc, "app/service.py") == {7: ["UPS001"], 12: ["UPS001"]}
    assert findings_at(doc, "app/db.py") == {31: ["UPS001"]}  # the method's literal, through self._run
    flagged = next(f for f in doc["findings"] if f["path"] == "app/service.py" and f["line"] == 7)
    assert flagged["sql"].startswith("INSERT INTO users (email, name) VALUES (%s, %s) ON CONFLICT (name) DO UPDATE SET email = EXCLUDED.email")
    assert flagged["sql_origin"]["path"] == "app/db.py" and flagged["through"] == [{"path": "app/db.py", "line": 7, "column": 5}]


def test_a_helpers_statement_is_checked_at_its_calls_not_left_unresolved(make_project, capsys):
    doc = audit(make_project, capsys, {"app/db.py": DB, "app/service.py": SERVICE})
    body = {s["line"]: s for s in doc["sites"] if s["path"] == "app/db.py"}
    assert body[7]["status"] == "checked at its calls"  # upsert(): 3 calls, save_user's and its 2 calls
    assert "6 call(s)" in body[7]["detail"]
    assert body[18]["status"] == "checked at its calls" and "2 call(s)" in body[18]["detail"]  # save_user()'s call of upsert()
    assert body[15]["status"] == "checked at its calls"  # insert_ignore()
    assert body[25]["status"] == "checked at its calls"  # Store._run()
    assert doc["summary"]["unresolved"] == 0
    assert doc["summary"]["checked"] == doc["summary"]["write_sites"]
    assert not [f for f in doc["findings"] if f["rule"] == "UPS902"]


def test_a_helper_nobody_calls_keeps_its_reason(make_project, capsys):
    doc = audit(make_project, capsys, {"app/db.py": DB})
    body = {s["line"]: s for s in doc["sites"] if s["path"] == "app/db.py"}
    assert body[7]["status"] == "checked at its calls"  # save_user() still calls it
    assert body[15]["status"] == "unresolved" and "'table' is a function parameter" in body[15]["detail"]


def test_a_method_of_an_unknown_object_is_not_followed(make_project, capsys):
    views = '''
def view(store, cur):
    store.add_tag("x")          # which class `store` is, is not known
    other.upsert(cur, "users", ["name"], {"name": "x"})
'''
    doc = audit(make_project, capsys, {"app/db.py": DB, "app/views.py": views})
    assert findings_at(doc, "app/views.py") == {}


def _run(url: str, sql: str, params: tuple) -> str | None:
    """Run one statement on the schema; its SQLSTATE if it fails."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS users, tags")
        conn.execute(SCHEMA)
        try:
            conn.execute(sql, params)
        except psycopg.Error as error:
            return error.sqlstate
    return None


def test_the_database_agrees_with_each_verdict(make_project, capsys, pg_database):
    doc = audit(make_project, capsys, {"app/db.py": DB, "app/service.py": SERVICE})
    flagged = {f["line"] for f in doc["findings"] if f["path"] == "app/service.py" and f["severity"] != "info"}
    sites = [s for s in doc["sites"] if s["path"] == "app/service.py"]
    assert len(sites) == 7 and all(s["status"] == "checked" for s in sites)
    for site in sites:
        parameters = ("1", "A")[: site["sql"].count("%s")]  # "1" is a valid text and a valid integer
        failure = _run(pg_database, site["sql"], parameters)
        assert failure == ("42P10" if site["line"] in flagged else None), site
