"""Check-then-update raced for real (UPS108): two writers rename two users to the same free
name. Each checks that no row holds the name, both checks pass (they meet at a barrier right
after them), then each UPDATEs its own row. Without a unique key on the column both updates
succeed and two users share the name; with one the second fails with the database's unique
violation. The audit reads the very module the writers run, and says which of the two."""

from __future__ import annotations

import importlib.util
import json
import sqlite3
import threading

import pytest

from auditor.cli import main

APP = '''
import {driver}


def rename(conn, user_id, name):
    cur = conn.cursor()
    cur.execute("SELECT 1 FROM users WHERE name = {p}", (name,))
    if cur.fetchone():
        return "taken"
    cur.execute("UPDATE users SET name = {p} WHERE id = {p}", (name, user_id))
    conn.commit()
    return "renamed"
'''


class MeetAfterSelect:
    """A connection whose cursors wait at the barrier after their first SELECT."""

    def __init__(self, conn, barrier: threading.Barrier):
        self.conn, self.barrier = conn, barrier

    def cursor(self):
        cursor, barrier = self.conn.cursor(), self.barrier

        class Cursor:
            def execute(self, sql, params=()):
                result = cursor.execute(sql, params)
                if sql.startswith("SELECT"):
                    barrier.wait(timeout=10)
                return result

            def fetchone(self):
                return cursor.fetchone()

        return Cursor()

    def commit(self):
        self.conn.commit()


@pytest.fixture(params=["postgres", "mysql", "sqlite"])
def database(request, tmp_path):
    """(dialect, driver module name, placeholder, connect())."""
    if request.param == "postgres":
        import psycopg

        url = request.getfixturevalue("pg_database")
        return "postgres", "psycopg", "%s", lambda: psycopg.connect(url)
    if request.param == "mysql":
        import pymysql

        params = request.getfixturevalue("mariadb_database")
        return "mysql", "pymysql", "%s", lambda: pymysql.connect(**params)
    path = tmp_path / "race.sqlite3"
    return "sqlite", "sqlite3", "?", lambda: sqlite3.connect(path, timeout=10, check_same_thread=False)


def load(path):
    spec = importlib.util.spec_from_file_location("rename_app", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("keyed", [False, True], ids=["no-key", "unique-key"])
def test_two_renames_to_one_name(keyed, database, tmp_path, capsys):
    dialect, driver, placeholder, connect = database
    project = tmp_path / "project"
    project.mkdir()
    (project / "app.py").write_text(APP.format(driver=driver, p=placeholder))
    unique = " UNIQUE" if keyed else ""
    (project / "schema.sql").write_text(f"CREATE TABLE users (id int PRIMARY KEY, name varchar(30) NOT NULL{unique});\n")

    setup = connect()
    setup.cursor().execute(f"CREATE TABLE users (id int PRIMARY KEY, name varchar(30) NOT NULL{unique})")
    setup.cursor().execute("INSERT INTO users (id, name) VALUES (1, 'ann'), (2, 'bob')")
    setup.commit()

    app, barrier, outcomes = load(project / "app.py"), threading.Barrier(2), []

    def writer(user_id):
        conn = connect()
        try:
            outcomes.append(app.rename(MeetAfterSelect(conn, barrier), user_id, "neo"))
        except Exception as error:  # noqa: BLE001 - the database's refusal is the outcome
            outcomes.append(type(error).__name__)
        finally:
            conn.close()

    threads = [threading.Thread(target=writer, args=(i,)) for i in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    cursor = setup.cursor()
    cursor.execute("SELECT count(*) FROM users WHERE name = 'neo'")
    [(holders,)] = cursor.fetchall()
    setup.close()
    if keyed:
        refusal = "UniqueViolation" if dialect == "postgres" else "IntegrityError"  # 23505 / 1062 / UNIQUE constraint failed
        assert (holders, sorted(outcomes)) == (1, sorted(["renamed", refusal]))
    else:
        assert (holders, outcomes) == (2, ["renamed", "renamed"])

    main(["check", str(project), "--format", "json", "--no-cache", "--dialect", dialect])
    [finding] = json.loads(capsys.readouterr().out)["findings"]
    assert (finding["rule"], finding["line"], finding["severity"]) == ("UPS108", 10, "warning")
    assert ("stops a second row" in finding["message"]) is keyed
