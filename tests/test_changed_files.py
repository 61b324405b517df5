"""Changed-files mode, as the pre-commit hook runs it: whole schema, findings the change touches."""

from __future__ import annotations

import json

import pytest

from auditor.cli import main

USERS = "CREATE TABLE users (id serial PRIMARY KEY, email text);\n"
ORDERS = "CREATE TABLE orders (id serial PRIMARY KEY, ref text);\n"


def upsert(table, column):
    # the id is left to its sequence: only the conflict target is in question (UPS017 would
    # rightly warn about an explicit id clashing on the primary key)
    return f'import psycopg\ncur.execute("INSERT INTO {table} ({column}) VALUES (\'x\') ON CONFLICT ({column}) DO NOTHING")\n'


@pytest.fixture
def project(make_project, monkeypatch):
    root = make_project({
        "db/001_users.sql": USERS,
        "db/002_orders.sql": ORDERS,
        "app/users.py": upsert("users", "email"),
        "app/orders.py": upsert("orders", "ref"),
        "app/clean.py": 'import psycopg\ncur.execute("INSERT INTO users (id) VALUES (1) ON CONFLICT (id) DO NOTHING")\n',
        "app/broken.py": "def f(:\n    cur.execute('x')\n",
    })
    monkeypatch.chdir(root)
    return root


def run(capsys, *paths):
    code = main(["check", "--format", "json", *paths])
    doc = json.loads(capsys.readouterr().out)
    return code, sorted(f["path"] for f in doc["findings"]), doc


def test_only_findings_in_the_changed_files(project, capsys):
    code, paths, doc = run(capsys, "app/users.py")
    assert (code, paths) == (1, ["app/users.py"])
    assert doc["diagnostics"] == []  # the broken file was not part of the change
    assert run(capsys, "app/clean.py")[:2] == (0, [])


def test_a_changed_schema_file_reports_sites_on_its_tables_anywhere(project, capsys):
    assert run(capsys, "db/002_orders.sql")[:2] == (1, ["app/orders.py"])
    assert run(capsys, "db/002_orders.sql", "app/users.py")[:2] == (1, ["app/orders.py", "app/users.py"])


def test_a_schema_change_that_fixes_the_key_clears_the_finding(project, capsys):
    (project / "db" / "003_orders_ref.sql").write_text("ALTER TABLE orders ADD CONSTRAINT orders_ref_key UNIQUE (ref);\n")
    assert run(capsys, "db/003_orders_ref.sql")[:2] == (0, [])


def test_diagnostics_of_changed_files_are_shown(project, capsys):
    _, _, doc = run(capsys, "app/broken.py")
    assert [(d["path"], d["kind"]) for d in doc["diagnostics"]] == [("app/broken.py", "syntax-error")]


def test_folder_and_files_together_is_a_usage_error(project, capsys):
    assert main(["check", "app", "app/users.py"]) == 2
    assert main(["check", "app/missing.py"]) == 2
