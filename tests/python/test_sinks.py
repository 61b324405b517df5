"""User-declared sinks: a project's driver wrappers become write sites."""

from __future__ import annotations

import json

import pytest

from auditor.cli import main
from auditor.config import ConfigError, load_config
from auditor.python import python_files, scan_python_files
from auditor.python.sinks import Sink

CODE = '''
from app.db import db

TABLE = "avatar_configurations"


class Store:
    def save(self, user_id, persona):
        db.run("INSERT INTO avatar_configurations (user_id, persona) VALUES (%s, %s) "
               "ON CONFLICT (user_id) DO UPDATE SET persona = EXCLUDED.persona", user_id, persona)
        self.db_pool.simple_upsert(TABLE, {"user_id": user_id}, {"persona": persona})
        self.db_pool.simple_upsert(TABLE, {"id": 1}, {"persona": persona})
        self.db_pool.simple_upsert(TABLE, keys, {"persona": persona})
        other.run("not a sink: no match on the dotted name")
'''
SINKS = (Sink("db.run", sql_argument=0), Sink("db_pool.simple_upsert", table_argument=0, key_argument=1, values_argument=2))


def test_sql_and_structured_sinks_become_sql_calls(make_project):
    root = make_project({"app/store.py": CODE})
    calls = scan_python_files(root, python_files(root), sinks=SINKS).calls
    assert [(c.api, c.location.line) for c in calls] == [("db.run", 9), ("db_pool.simple_upsert", 11), ("db_pool.simple_upsert", 12), ("db_pool.simple_upsert", 13)]
    assert calls[0].sql.startswith("INSERT INTO avatar_configurations (user_id, persona)")
    assert calls[1].sql == (
        "INSERT INTO avatar_configurations (user_id, persona) VALUES (?, ?) "
        "ON CONFLICT (user_id) DO UPDATE SET persona = EXCLUDED.persona"
    )
    assert calls[3].sql is None and "not a literal dict or list" in calls[3].unresolved_reason


def test_without_sinks_the_wrappers_are_not_sites(make_project):
    root = make_project({"app/store.py": CODE})
    assert scan_python_files(root, python_files(root)).calls == []


def test_sinks_from_pyproject_reach_the_rules(make_project, capsys):
    root = make_project({
        "app/store.py": CODE,
        "schema.sql": "CREATE TABLE avatar_configurations (id int PRIMARY KEY, user_id int NOT NULL, persona text);\n",
        "pyproject.toml": '[tool.upsert-audit]\ndialect = "postgres"\n'
        '[[tool.upsert-audit.sinks]]\ncall = "db.run"\nsql-argument = 0\n'
        '[[tool.upsert-audit.sinks]]\ncall = "db_pool.simple_upsert"\ntable-argument = 0\nkey-argument = 1\nvalues-argument = 2\n',
    })
    assert main(["check", str(root), "--format", "json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    # The incident twice (raw SQL and structured); the upsert keyed on the primary key is fine;
    # the call whose key columns are a run-time value is listed as not checked.
    assert [(f["rule"], f["line"]) for f in doc["findings"]] == [("UPS001", 9), ("UPS001", 11), ("UPS902", 13)]
    assert doc["summary"]["unresolved"] == 1
    main(["config", str(root)])
    assert 'call = "db_pool.simple_upsert"\ntable-argument = 0' in capsys.readouterr().out


def test_sink_flag(make_project, capsys):
    root = make_project({"app/store.py": CODE, "schema.sql": "CREATE TABLE avatar_configurations (user_id int PRIMARY KEY, persona text);\n"})
    assert main(["check", str(root), "--sink", "db.run:sql=0", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["summary"]["checked"] == 1


@pytest.mark.parametrize(
    ("sinks", "named"),
    [
        ([{"call": "db.run"}], r"sinks\[0\]"),
        ([{"call": "db.run", "sql-argument": 0, "table-argument": 1}], r"sinks\[0\]"),
        ([{"call": "db run", "sql-argument": 0}], r"sinks\[0\]\.call"),
        ([{"call": "x", "sql-argument": -1}], r"sinks\[0\]\.sql-argument"),
        ([{"call": "x", "sql-arg": 0}], "sql-arg"),
        ({"call": "x"}, "sinks"),
    ],
)
def test_bad_sinks_name_the_key(tmp_path, sinks, named):
    with pytest.raises(ConfigError, match=named):
        load_config(tmp_path, sinks=sinks)
