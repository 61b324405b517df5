"""psycopg's sql.SQL(...).format(sql.Identifier(...)) compositions fold to text where their
parts are constants, and are counted as unresolved (UPS902) where they are not."""

from __future__ import annotations

import json

from auditor.cli import main

APP = '''
import psycopg
from psycopg import sql


def save(cur, uid, table_var):
    cur.execute(sql.SQL("INSERT INTO {} (user_id) VALUES ({}) ON CONFLICT (user_id) DO NOTHING").format(
        sql.Identifier("avatars"), sql.Placeholder()), (uid,))
    cur.execute(sql.SQL("INSERT INTO {} (user_id) VALUES (%s)").format(sql.Identifier(table_var)), (uid,))
'''


def test_compositions_resolve_or_are_counted(make_project, capsys):
    project = make_project({"app.py": APP, "schema.sql": "CREATE TABLE avatars (id int PRIMARY KEY, user_id int NOT NULL);\n"})
    assert main(["check", str(project), "--format", "json", "--no-cache"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert [(f["rule"], f["line"]) for f in doc["findings"]] == [("UPS001", 7), ("UPS902", 9)]
    assert doc["summary"]["checked"] == 1 and doc["summary"]["unresolved"] == 1
