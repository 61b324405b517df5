"""`database-url`: the live database's real keys as the schema source."""

from __future__ import annotations

import json
import sqlite3

import pytest

from auditor.cli import main

psycopg = pytest.importorskip("psycopg")

INCIDENT = "CREATE TABLE avatar_configurations (id serial PRIMARY KEY, user_id int NOT NULL, persona text)"
CODE = {
    "store.py": 'import psycopg\ncur.execute("INSERT INTO avatar_configurations (user_id, persona) VALUES (%s, %s) '
    'ON CONFLICT (user_id) DO UPDATE SET persona = EXCLUDED.persona")\n',
    # The files say the key exists; the live database is what counts.
    "schema.sql": INCIDENT.replace("user_id int NOT NULL", "user_id int NOT NULL UNIQUE") + ";\n",
}


def check(project, capsys, *flags):
    code = main(["check", str(project), "--format", "json", *flags])
    return code, json.loads(capsys.readouterr().out)


def test_postgres_live_schema_finds_what_the_files_hide(pg_database, make_project, capsys):
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute(INCIDENT)
    project = make_project(CODE)
    assert check(project, capsys)[0] == 0  # the files claim a key
    code, doc = check(project, capsys, "--database-url", pg_database)
    assert code == 1
    [finding] = doc["findings"]
    assert finding["rule"] == "UPS001"
    assert finding["evidence"][0]["origin"]["path"] == "<live database>"
    assert doc["schema_sources"] == ["<live database>"] and doc["summary"]["schema_files"] == 0

    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute("ALTER TABLE avatar_configurations ADD CONSTRAINT avatar_configurations_user_id_key UNIQUE (user_id)")
    assert check(project, capsys, "--database-url", pg_database)[0] == 0


def test_sqlite_live_schema_relative_to_the_project(make_project, capsys):
    project = make_project({**CODE, "store.py": CODE["store.py"].replace("import psycopg", "import sqlite3")})
    with sqlite3.connect(project / "app.db") as conn:
        conn.execute(INCIDENT.replace("serial", "INTEGER"))
    conn.close()
    code, doc = check(project, capsys, "--database-url", "sqlite:///app.db")
    assert code == 1 and doc["dialect"] == "sqlite" and [f["rule"] for f in doc["findings"]] == ["UPS001"]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://root@127.0.0.1:3306/ua_no_such_database_here", "could not read the schema"),
        ("mysql://root@127.0.0.1:3306", "needs a database"),
        ("oracle://x", "unknown scheme"),
        ("sqlite:///missing.db", "does not exist"),
        ("postgresql://postgres@127.0.0.1:5432/ua_no_such_database_here", "could not read the schema"),
    ],
)
def test_bad_database_url_exits_2_with_the_reason(make_project, capsys, url, message):
    project = make_project(CODE)
    assert main(["check", str(project), "--database-url", url]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("url", [
    "postgresql://app:s3cr3t-pw@127.0.0.1:1/db",
    "postgresql://app:s3cr3t-pw@127.0.0.1:5432/no_such_database_ua",
    "mysql://app:s3cr3t-pw@127.0.0.1:1/db",
    "mysql://app:s3cr3t-pw@127.0.0.1:3306/db",
])
def test_credentials_never_appear_in_errors(make_project, capsys, url):
    project = make_project(CODE)
    assert main(["check", str(project), "--database-url", url]) == 2
    captured = capsys.readouterr()
    assert "could not read the schema" in captured.err
    assert "s3cr3t-pw" not in captured.err + captured.out


def test_a_missing_driver_is_a_clear_error_naming_the_extra(make_project):
    import subprocess
    import sys

    project = make_project(CODE)
    # Simulate a machine without psycopg: a None entry in sys.modules makes the import fail.
    script = "import sys; sys.modules['psycopg'] = None; from auditor.cli import main; sys.exit(main(sys.argv[1:]))"
    run = subprocess.run(
        [sys.executable, "-c", script, "check", str(project), "--database-url", "postgresql://u:pw@127.0.0.1:1/x"],
        capture_output=True, text=True, timeout=60,
    )
    assert run.returncode == 2
    assert "pip install 'upsert-audit[postgres]'" in run.stderr
    assert "Traceback" not in run.stderr


def test_mariadb_live_schema_finds_what_the_files_hide(mariadb_database, mariadb_url, make_project, capsys):
    pymysql = pytest.importorskip("pymysql")
    conn = pymysql.connect(**mariadb_database)
    with conn.cursor() as cursor:
        cursor.execute("CREATE TABLE visits (id INT AUTO_INCREMENT PRIMARY KEY, user_id INT NOT NULL, n INT)")
    conn.close()
    project = make_project({
        "store.py": "import pymysql\ncur.execute('INSERT INTO visits (user_id, n) VALUES (%s, 1) ON CONFLICT (user_id) DO NOTHING')\n",
    })
    code, doc = check(project, capsys, "--database-url", mariadb_url)
    assert doc["dialect"] == "mysql" and doc["schema_sources"] == ["<live database>"]
    assert doc["summary"]["tables"] == 1
