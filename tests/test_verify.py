"""`upsert-audit verify` against real PostgreSQL, SQLite and MariaDB: nothing written, every claim checked."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from auditor.cli import main
from auditor.schema import discover_schema_files

psycopg = pytest.importorskip("psycopg")
pymysql = pytest.importorskip("pymysql")

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "avatar_app"


def verify(project, url, capsys, *flags):
    code = main(["verify", str(project), "--database-url", url, "--format", "json", *flags])
    return code, json.loads(capsys.readouterr().out)


def by_status(doc):
    return {(s["path"], s["line"]): (s["status"], s["sqlstate"]) for s in doc["sites"]}


def avatar_example(tmp_path, url: str):
    """A copy of the avatar example, and its schema built on the database at `url`."""
    project = tmp_path / "avatar_app"
    shutil.copytree(EXAMPLE, project)
    with psycopg.connect(url, autocommit=True) as conn:
        for path in discover_schema_files(project / "migrations"):
            conn.execute(path.read_text())
    return project


def table_counts(conn) -> dict[str, int]:
    tables = [r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
    return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}


def test_postgres_before_and_after_the_fix(pg_database, tmp_path, capsys):
    project = avatar_example(tmp_path, pg_database)
    with psycopg.connect(pg_database, autocommit=True) as conn:
        before = table_counts(conn)

    code, doc = verify(project, pg_database, capsys)
    assert code == 1
    statuses = by_status(doc)
    failing = [where for where, (status, _) in statuses.items() if status == "fails"]
    assert failing == [("avatar_app/storage.py", 19)]
    assert statuses[failing[0]] == ("fails", "42P10")
    assert [s["static_findings"] for s in doc["sites"] if s["status"] == "fails"] == [["UPS001"]]
    assert doc["summary"] == {"fails": 1, "plans fine": 4, "not checked": 0, "contradictions": 0, "drift": 0}

    with psycopg.connect(pg_database, autocommit=True) as conn:
        assert table_counts(conn) == before  # read only: nothing was written
        assert conn.execute("SELECT count(*) FROM pg_prepared_statements").fetchone()[0] == 0
        # Fix the live database only: the files are now out of date.
        conn.execute("ALTER TABLE avatar_configurations ADD CONSTRAINT avatar_configurations_user_id_key UNIQUE (user_id)")
    code, doc = verify(project, pg_database, capsys)
    assert code == 0
    [contradiction] = [s for s in doc["sites"] if s["contradiction"]]
    assert contradiction["line"] == 19 and "UPS001" in contradiction["contradiction"]
    assert [(d["table"], d["where"]) for d in doc["drift"]] == [("public.avatar_configurations", "live database only")]

    # Files and database agree again once the migration is in the files too.
    (project / "migrations" / "011_fix.sql").write_text(
        "ALTER TABLE avatar_configurations ADD CONSTRAINT avatar_configurations_user_id_key UNIQUE (user_id);\n"
    )
    code, doc = verify(project, pg_database, capsys)
    assert (code, doc["summary"]["contradictions"], doc["summary"]["drift"]) == (0, 0, 0)


def test_foreign_keys_the_files_and_the_database_disagree_on_are_drift(pg_database, tmp_path, capsys):
    """A foreign key only the database has is a child a SQLite/MariaDB migration would not
    re-point; one only the files have is one the database never got."""
    project = avatar_example(tmp_path, pg_database)
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute("ALTER TABLE user_preferences DROP CONSTRAINT user_preferences_user_id_fkey")
        conn.execute("ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_owner FOREIGN KEY (id) REFERENCES users (id)")
    _code, doc = verify(project, pg_database, capsys)
    assert sorted((d["table"], d["key"], d["where"]) for d in doc["drift"]) == [
        ("public.api_tokens", "foreign key api_tokens_owner (id) -> public.users (id)", "live database only"),
        ("public.user_preferences", "foreign key user_preferences_user_id_fkey (user_id) -> public.users (id)", "schema files only"),
    ]


def test_execution_time_failures_are_not_contradictions(pg_database, make_project, capsys):
    schema = "CREATE TABLE codes (id int PRIMARY KEY, code text NOT NULL UNIQUE DEFERRABLE);\n"
    project = make_project({
        "schema.sql": schema,
        "app.py": "import psycopg\ncur.execute(\"INSERT INTO codes (code) VALUES (%s) ON CONFLICT (code) DO NOTHING\")\n",
    })
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute(schema)
    code, doc = verify(project, pg_database, capsys)
    # UPS004 (55000) is raised by the executor: planning cannot confirm it, so no contradiction.
    assert code == 0
    [site] = doc["sites"]
    assert (site["status"], site["static_findings"], site["contradiction"]) == ("plans fine", ["UPS004"], None)


def test_sqlite_read_only(make_project, capsys):
    schema = "CREATE TABLE events (id INTEGER PRIMARY KEY, name TEXT NOT NULL, n INTEGER);\n"
    project = make_project({
        "schema.sql": schema,
        "app.py": "import sqlite3\n"
        "conn.execute('INSERT INTO events (name, n) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET n = excluded.n')\n"
        "conn.execute('INSERT INTO events (id, name) VALUES (:id, :name) ON CONFLICT (id) DO NOTHING')\n"
        "conn.execute(sql)\n",
    })
    database = project / "app.db"
    with sqlite3.connect(database) as conn:
        conn.executescript(schema)
    conn.close()
    content = database.read_bytes()
    code, doc = verify(project, "sqlite:///app.db", capsys)
    assert code == 1
    assert [(s["line"], s["status"]) for s in doc["sites"]] == [(2, "fails"), (3, "plans fine"), (4, "not checked")]
    assert "ON CONFLICT clause does not match" in doc["sites"][0]["error"]
    assert doc["sites"][2]["error"] == "the SQL is not a constant"
    assert database.read_bytes() == content


def test_mariadb(mariadb_database, make_project, capsys):
    schema = "CREATE TABLE visits (id INT AUTO_INCREMENT PRIMARY KEY, user_id INT NOT NULL, n INT, UNIQUE KEY uq_user (user_id));\n"
    project = make_project({
        "schema.sql": schema,
        "app.py": "import pymysql\n"
        "cur.execute('INSERT INTO visits (user_id, n) VALUES (%s, %s) ON DUPLICATE KEY UPDATE n = n + 1')\n"
        "cur.execute('INSERT INTO visitz (user_id) VALUES (%s)')\n",
    })
    conn = pymysql.connect(autocommit=True, **mariadb_database)
    with conn.cursor() as cur:
        cur.execute(schema)
    url = "mysql://{user}@{host}:{port}/{database}".format(**mariadb_database)
    code, doc = verify(project, url, capsys, "--dialect", "mysql")
    assert code == 1
    assert [(s["line"], s["status"], s["sqlstate"]) for s in doc["sites"]] == [(2, "plans fine", None), (3, "fails", "1146")]
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM visits")
        assert cur.fetchone()[0] == 0
    conn.close()


def test_verify_needs_a_database(make_project, capsys):
    project = make_project({"app.py": "x = 1\n"})
    assert main(["verify", str(project)]) == 2
    assert "needs --database-url" in capsys.readouterr().err
    assert main(["verify", str(project), "--database-url", "postgresql://postgres@127.0.0.1:5432/ua_missing_db_x"]) == 2
    assert "could not connect" in capsys.readouterr().err


def test_postgres_after_the_generated_migration(pg_database, tmp_path, capsys):
    """The incident's whole fix: verify fails, migrate writes the key's migration, psql runs it,
    and verify then finds every site planning fine, no contradiction and no drift."""
    import subprocess

    project = avatar_example(tmp_path, pg_database)
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute("INSERT INTO users (id, email) VALUES (1, 'a@example.com')")
        conn.execute("INSERT INTO avatar_configurations (user_id, persona) VALUES (1, 'old'), (1, 'new')")
    assert verify(project, pg_database, capsys)[0] == 1

    assert main(["migrate", str(project), "--no-cache"]) == 0
    [migration] = (project / "migrations").glob("011_*.sql")
    run = subprocess.run(["psql", pg_database, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", str(migration)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr

    code, doc = verify(project, pg_database, capsys)
    assert code == 0
    assert doc["summary"] == {"fails": 0, "plans fine": 5, "not checked": 0, "contradictions": 0, "drift": 0}
