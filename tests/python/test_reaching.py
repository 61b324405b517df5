"""The assignment that reaches the call: each possible statement of a local is checked,
not given up as 'assigned more than once'."""

from __future__ import annotations

import json

import pytest

from auditor.cli import main

SCHEMA = "CREATE TABLE users (id serial PRIMARY KEY, email text NOT NULL UNIQUE, name text);\n"


def sites_and_findings(make_project, capsys, body: str):
    app = "import psycopg\n\ndef save(cur, kind, e, extra):\n" + body
    main(["check", str(make_project({"schema.sql": SCHEMA, "app.py": app})), "--format", "json", "--no-cache"])
    doc = json.loads(capsys.readouterr().out)
    return doc["sites"], [(f["rule"], f["line"]) for f in doc["findings"]]


def test_each_branch_of_an_if_is_a_statement_to_check(make_project, capsys):
    sites, findings = sites_and_findings(make_project, capsys, (
        "    if kind == 'a':\n"
        "        sql = 'INSERT INTO users (email) VALUES (%s) ON CONFLICT (email) DO NOTHING'\n"
        "    elif kind == 'b':\n"
        "        sql = 'INSERT INTO users (email) VALUES (%s) ON CONFLICT (name) DO NOTHING'\n"
        "    else:\n"
        "        sql = 'UPDATE users SET name = %s WHERE email = %s'\n"
        "    cur.execute(sql, (e,))\n"
    ))
    assert [(s["line"], s["status"]) for s in sites] == [(10, "checked")] * 3
    assert findings == [("UPS001", 10)]


def test_the_assignment_that_reaches_each_call_is_the_one_checked(make_project, capsys):
    sites, findings = sites_and_findings(make_project, capsys, (
        "    sql = 'INSERT INTO users (email) VALUES (%s) ON CONFLICT (name) DO NOTHING'\n"
        "    cur.execute(sql, (e,))\n"
        "    sql = 'INSERT INTO users (email) VALUES (%s) ON CONFLICT (email) DO NOTHING'\n"
        "    cur.execute(sql, (e,))\n"
    ))
    assert len(sites) == 2
    assert findings == [("UPS001", 5)]


def test_plus_equals_extends_every_value_that_reaches_it(make_project, capsys):
    sites, findings = sites_and_findings(make_project, capsys, (
        "    sql = 'INSERT INTO users (email) VALUES (%s)'\n"
        "    if kind:\n"
        "        sql += ' ON CONFLICT (name) DO NOTHING'\n"
        "    cur.execute(sql, (e,))\n"
    ))
    assert len(sites) == 2  # with and without the clause
    assert findings == [("UPS001", 7)]


def test_a_branch_that_returns_does_not_reach_past_it(make_project, capsys):
    sites, findings = sites_and_findings(make_project, capsys, (
        "    sql = 'INSERT INTO users (email) VALUES (%s) ON CONFLICT (name) DO NOTHING'\n"
        "    if kind:\n"
        "        return\n"
        "    sql = 'INSERT INTO users (email) VALUES (%s) ON CONFLICT (email) DO NOTHING'\n"
        "    cur.execute(sql, (e,))\n"
    ))
    assert len(sites) == 1 and findings == []


@pytest.mark.parametrize("binding, reason", [
    ("    for sql in extra:\n        pass\n", "name 'extra' is a function parameter"),
    ("    sql, other = extra\n", "name 'sql' is assigned by unpacking"),
    ("    sql = 'INSERT INTO users (email) VALUES (%s)'\n    if kind:\n        sql = extra\n", "name 'extra' is a function parameter"),
])
def test_a_value_from_elsewhere_is_unresolved_with_its_reason(make_project, capsys, binding, reason):
    sites, _ = sites_and_findings(make_project, capsys, binding + "    cur.execute(sql, (e,))\n")
    assert reason in {s["detail"] for s in sites if s["status"] == "unresolved"}


def test_a_parameter_given_a_default_in_the_body_is_followed(make_project, capsys):
    app = ("import psycopg\n\ndef save(cur, e, sql=None):\n"
           "    if sql is None:\n"
           "        sql = 'INSERT INTO users (email) VALUES (%s) ON CONFLICT (name) DO NOTHING'\n"
           "    cur.execute(sql, (e,))\n")
    main(["check", str(make_project({"schema.sql": SCHEMA, "app.py": app})), "--format", "json", "--no-cache"])
    doc = json.loads(capsys.readouterr().out)
    assert sorted(s["status"] for s in doc["sites"]) == ["checked", "unresolved"]  # the caller's SQL, or the default
    assert [f["rule"] for f in doc["findings"] if f["severity"] != "info"] == ["UPS001"]


def test_a_statement_object_built_in_steps_is_not_sql_text(make_project, capsys):
    # sqlalchemy: stmt = select(...); stmt = stmt.where(...); conn.execute(stmt.limit(1)) reads rows
    app = ("import sqlalchemy as sa\n\ndef find(conn, t, k):\n"
           "    stmt = sa.select(t.c.id)\n"
           "    if k:\n"
           "        stmt = stmt.where(t.c.k == k)\n"
           "    return conn.execute(stmt.limit(1))\n")
    main(["check", str(make_project({"schema.sql": SCHEMA, "app.py": app})), "--format", "json", "--no-cache"])
    doc = json.loads(capsys.readouterr().out)
    assert doc["sites"] == []
