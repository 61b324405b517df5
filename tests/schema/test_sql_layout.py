"""A full schema kept beside its update scripts gives one catalog (issue 16): the full schema
alone when it already has what the updates add, both in order when the updates add what it
lacks. The oracle: MariaDB after the statements a fresh install runs."""

from __future__ import annotations

import textwrap

import pytest

from auditor.schema.compare import comparable
from auditor.schema.discover import discover_schema_files
from auditor.schema.live_mysql import introspect_mysql
from auditor.schema.sources import build_catalog
from auditor.schema.statements import split_statements

pymysql = pytest.importorskip("pymysql")

# bancho.py's layout: the current schema whole, and the upgrades from older versions.
BASE = """
    CREATE TABLE users (id INT AUTO_INCREMENT PRIMARY KEY, safe_name VARCHAR(32) NOT NULL, pw_bcrypt CHAR(60) NOT NULL,
                        CONSTRAINT users_safe_name_uindex UNIQUE (safe_name));
    CREATE TABLE clans (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(16) NOT NULL, CONSTRAINT clans_name_uindex UNIQUE (name));
    CREATE TABLE scores (id BIGINT AUTO_INCREMENT PRIMARY KEY, map_md5 CHAR(32) NOT NULL, mode TINYINT NOT NULL);
    CREATE TABLE maps (server VARCHAR(16) NOT NULL, id INT NOT NULL, md5 CHAR(32) NOT NULL, PRIMARY KEY (server, id),
                       CONSTRAINT maps_md5_uindex UNIQUE (md5));
"""
UPDATES = """
    # v3.0.6
    ALTER TABLE users CHANGE name_safe safe_name VARCHAR(32) NOT NULL;
    ALTER TABLE users DROP KEY users_name_safe_uindex;
    ALTER TABLE users ADD CONSTRAINT users_safe_name_uindex UNIQUE (safe_name);
    CREATE TABLE clans (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(16) NOT NULL);
    ALTER TABLE clans ADD CONSTRAINT clans_name_uindex UNIQUE (name);
    # v4.0.0
    ALTER TABLE scores_rx ADD COLUMN mode TINYINT NOT NULL;
    ALTER TABLE maps ADD CONSTRAINT maps_md5_uindex UNIQUE (md5);
"""

# A starting schema and the migrations written after it: they add what it lacks.
SCHEMA = "CREATE TABLE accounts (id INT PRIMARY KEY, email VARCHAR(200) NOT NULL);"
MIGRATIONS = {
    "0002_unique_email.sql": "ALTER TABLE accounts ADD CONSTRAINT accounts_email UNIQUE (email);",
    "0003_handles.sql": "ALTER TABLE accounts ADD COLUMN handle VARCHAR(40); CREATE UNIQUE INDEX accounts_handle ON accounts (handle);",
}


def _run(mariadb_database, *scripts: str) -> None:
    conn = pymysql.connect(**mariadb_database)
    try:
        with conn.cursor() as cursor:
            for script in scripts:
                statements, _ = split_statements(script, "mysql")
                for statement in statements:
                    cursor.execute(statement.text)
        conn.commit()
    finally:
        conn.close()


def _write(root, files: dict) -> list:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(textwrap.dedent(text))
    return discover_schema_files(root)


def test_a_cumulative_full_schema_is_read_alone(mariadb_database, mariadb_url, tmp_path):
    files = _write(tmp_path, {"migrations/base.sql": BASE, "migrations/migrations.sql": UPDATES})
    project = build_catalog(tmp_path, [], files, "mysql")
    _run(mariadb_database, BASE)  # what a fresh install runs
    assert comparable(project.catalog) == comparable(introspect_mysql(mariadb_url))
    [choice] = [d for d in project.catalog.diagnostics if d.kind == "schema-choice"]
    assert choice.path == "migrations/migrations.sql"
    assert choice.message.startswith("migrations/base.sql is the full current schema: 4 of the 4 ")
    assert [d for d in project.catalog.diagnostics if d.kind != "schema-choice"] == []


def test_a_starting_schema_and_later_migrations_are_both_applied(mariadb_database, mariadb_url, tmp_path):
    files = _write(tmp_path, {"db/schema.sql": SCHEMA, **{f"db/migrations/{n}": t for n, t in MIGRATIONS.items()}})
    project = build_catalog(tmp_path, [], files, "mysql")
    _run(mariadb_database, SCHEMA, *MIGRATIONS.values())
    assert comparable(project.catalog) == comparable(introspect_mysql(mariadb_url))
    assert project.catalog.diagnostics == []
