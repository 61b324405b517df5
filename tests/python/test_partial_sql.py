"""Use what is known: SQL built from constant text and run-time pieces is checked on the
parts that are known. Each run-time piece is a hole; rules that need it do not run, the
others do, and a statement whose table is a hole is counted as unresolved with the reason."""

from __future__ import annotations

import json

import pytest

from auditor.cli import main

SCHEMA = "CREATE TABLE users (id serial PRIMARY KEY, email text NOT NULL UNIQUE, name text, seen int NOT NULL DEFAULT 0);\n"

# A typical project helper: the columns, the placeholders and the SET list are built from a dict.
GENERIC_UPSERT = '''
import psycopg

def save(cur, row: dict):
    cols = ", ".join(row)
    marks = ", ".join(["%s"] * len(row))
    sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in row)
    cur.execute(f"INSERT INTO users ({cols}) VALUES ({marks}) ON CONFLICT ({TARGET}) DO UPDATE SET {sets}", list(row.values()))
'''


def audit(make_project, capsys, app: str, schema: str = SCHEMA) -> dict:
    main(["check", str(make_project({"schema.sql": schema, "app.py": app})), "--format", "json", "--no-cache"])
    return json.loads(capsys.readouterr().out)


def test_a_target_on_no_key_is_found_although_columns_values_and_set_are_built_at_run_time(make_project, capsys):
    doc = audit(make_project, capsys, GENERIC_UPSERT.replace("{TARGET}", "name"))
    [finding] = doc["findings"]
    assert (finding["rule"], finding["line"]) == ("UPS001", 8)
    # the SQL shown is what the code writes, with each run-time piece marked
    assert finding["sql"] == "INSERT INTO users ({?}) VALUES ({?}) ON CONFLICT (name) DO UPDATE SET {?}"
    assert (doc["summary"]["checked"], doc["summary"]["partly_known"]) == (1, 1)


def test_the_same_helper_on_a_real_key_is_clean_and_rules_needing_the_unknown_parts_stay_silent(make_project, capsys):
    # UPS015 (EXCLUDED of a column not inserted) and UPS013 (updating the key) need the
    # column and SET lists: unknown here, so they must not guess.
    doc = audit(make_project, capsys, GENERIC_UPSERT.replace("{TARGET}", "email"))
    assert doc["findings"] == []
    assert doc["summary"]["partly_known"] == 1


def test_the_database_rejects_what_the_audit_reports_for_one_instance_of_the_helper(pg_database):
    # The oracle: one run-time instance of the helper's SQL, on the same schema, fails 42P10.
    psycopg = pytest.importorskip("psycopg")
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute(SCHEMA)
        with pytest.raises(psycopg.errors.InvalidColumnReference) as error:
            conn.execute("INSERT INTO users (email, name) VALUES (%s, %s) ON CONFLICT (name) DO UPDATE SET email = EXCLUDED.email, name = EXCLUDED.name", ("a@x", "a"))
        assert error.value.sqlstate == "42P10"
        conn.execute("INSERT INTO users (email, name) VALUES (%s, %s) ON CONFLICT (email) DO UPDATE SET email = EXCLUDED.email, name = EXCLUDED.name", ("a@x", "a"))


def test_a_table_passed_in_leaves_the_site_unresolved_with_the_reason(make_project, capsys):
    doc = audit(make_project, capsys, "import psycopg\ndef save(cur, table, e):\n"
                "    cur.execute(f'INSERT INTO {table} (email) VALUES (%s) ON CONFLICT (name) DO NOTHING', (e,))\n")
    assert [f["rule"] for f in doc["findings"]] == ["UPS902"]
    [site] = doc["sites"]
    assert site["status"] == "unresolved"
    assert site["detail"] == "the table name is not known (name 'table' is a function parameter)"


@pytest.mark.parametrize("expression", [
    '"INSERT INTO users (email) VALUES (%s) ON CONFLICT (name) DO UPDATE SET " + extra',
    '"INSERT INTO users (email) VALUES (%%s) ON CONFLICT (name) DO UPDATE SET %s" % extra',
    '"INSERT INTO users (email) VALUES (%s) ON CONFLICT (name) DO UPDATE SET {}".format(extra)',
    '" ".join(["INSERT INTO users (email) VALUES (%s)", "ON CONFLICT (name) DO UPDATE SET", extra])',
])
def test_every_way_of_building_text_keeps_its_known_parts(make_project, capsys, expression):
    doc = audit(make_project, capsys, f"import psycopg\ndef save(cur, e, extra):\n    cur.execute({expression}, (e,))\n")
    assert [f["rule"] for f in doc["findings"]] == ["UPS001"]


def test_a_join_of_a_literal_list_of_constants_is_known_whole(make_project, capsys):
    app = ('import psycopg\nCOLS = ("email", "name")\ndef save(cur, e):\n'
           '    cur.execute("INSERT INTO users (" + ", ".join(["email", "seen"]) + ") VALUES (%s, %s) ON CONFLICT (email) DO UPDATE SET name = EXCLUDED.name", e)\n')
    doc = audit(make_project, capsys, app)
    assert [f["rule"] for f in doc["findings"]] == ["UPS015"]  # name (no default) is not inserted: fully known, so UPS015 runs
    assert doc["summary"]["partly_known"] == 0


def test_a_statement_whose_beginning_is_unknown_is_unresolved(make_project, capsys):
    doc = audit(make_project, capsys, "import psycopg\ndef save(cur, verb):\n    cur.execute(f'{verb} INTO users (email) VALUES (1)')\n")
    [site] = doc["sites"]
    assert (site["status"], site["detail"]) == ("unresolved", "name 'verb' is a function parameter")


def test_ddl_with_a_run_time_part_is_reported_not_read_as_a_table(make_project, capsys):
    app = ("import sqlite3\ndef setup(conn, suffix):\n"
           "    conn.execute(f'CREATE TABLE log_{suffix} (k text PRIMARY KEY)')\n"
           "    conn.execute(f'CREATE TABLE kv (k text PRIMARY KEY, v text)')\n")
    main(["check", str(make_project({"app.py": app})), "--format", "json", "--no-cache"])
    doc = json.loads(capsys.readouterr().out)
    assert doc["summary"]["tables"] == 1
    assert [(d["line"], d["kind"]) for d in doc["diagnostics"]] == [(3, "schema-source-error")]
    assert "built at run time" in doc["diagnostics"][0]["message"]


def test_a_lookup_with_a_run_time_part_is_not_paired_into_an_idiom(make_project, capsys):
    app = ("import psycopg\ndef add(cur, e, col):\n"
           "    cur.execute(f'SELECT 1 FROM users WHERE {col} = %s', (e,))\n"
           "    if cur.fetchone() is None:\n"
           "        cur.execute('INSERT INTO users (email) VALUES (%s)', (e,))\n")
    doc = audit(make_project, capsys, app)
    assert doc["summary"]["idioms"] == 0
    assert doc["findings"] == []
