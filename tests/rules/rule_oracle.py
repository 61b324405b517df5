"""The real databases, behind one small interface, for the rule-example oracle.

A `Database` is a fresh, empty database of one dialect with the example's schema and
setup applied. `run(sql, params)` executes one statement and returns its rows; a
database error comes back as `Rejected(code, message)`, what the examples declare
(rulebook.ExpectedError): PostgreSQL's SQLSTATE and primary message (without the LINE,
DETAIL and HINT lines), SQLite's result code name and message, MariaDB's error number
and message.
"""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

# psycopg prepares a statement server-side from its `prepare_threshold`-th run; PostgreSQL then
# plans it custom five times and switches to a generic plan. Ten runs reach the generic plan.
PREPARED_RUNS = 10


@dataclass(frozen=True)
class Rejected:
    code: str
    message: str

    @property
    def error(self) -> str:
        return f"{self.code}: {self.message}"


def split_script(script: str) -> list[str]:
    """Our example schemas hold no `;` inside literals, so splitting on it is enough."""
    return [s.strip() for s in script.split(";") if s.strip()]


class PostgresDatabase:
    def __init__(self, conn):
        self.conn = conn

    def run(self, sql: str, params: tuple = ()):
        import psycopg

        try:
            if not params:
                cur = self.conn.execute(sql)
                return cur.fetchall() if cur.description else []
            for _ in range(PREPARED_RUNS):  # as a driver that prepares statements runs it
                cur = self.conn.execute(sql, params, prepare=True)
            return cur.fetchall() if cur.description else []
        except psycopg.Error as error:
            return Rejected(error.sqlstate, error.diag.message_primary or str(error))


class SqliteDatabase:
    def __init__(self, conn):
        self.conn = conn

    def run(self, sql: str, params: tuple = ()):
        try:
            cur = self.conn.execute(sql.replace("%s", "?"), params) if params else self.conn.execute(sql)
            rows = cur.fetchall()
            self.conn.commit()
            return rows
        except sqlite3.Error as error:
            return Rejected(error.sqlite_errorname, str(error))


class MariadbDatabase:
    def __init__(self, conn):
        self.conn = conn

    def run(self, sql: str, params: tuple = ()):
        import pymysql

        try:
            with self.conn.cursor() as cur:
                cur.execute(sql, params or None)
                return list(cur.fetchall()) if cur.description else []
        except pymysql.MySQLError as error:
            code, message = error.args if len(error.args) == 2 else ("", str(error))
            return Rejected(str(code), message)


@contextmanager
def database(dialect: str, example, request, tmp_path: Path):
    """The example's schema and setup on a fresh database of `dialect`."""
    if dialect == "postgres":
        import psycopg

        with psycopg.connect(request.getfixturevalue("pg_database"), autocommit=True) as conn:
            conn.execute(example.schema)
            if example.setup:
                conn.execute(example.setup)
            yield PostgresDatabase(conn)
    elif dialect == "sqlite":
        conn = sqlite3.connect(tmp_path / "oracle.sqlite")
        try:
            conn.execute("PRAGMA foreign_keys = ON")
            conn.executescript(example.schema + ";" + example.setup)
            yield SqliteDatabase(conn)
        finally:
            conn.close()
    elif dialect == "mysql":
        import pymysql

        conn = pymysql.connect(autocommit=True, **request.getfixturevalue("mariadb_database"))
        try:
            db = MariadbDatabase(conn)
            for statement in split_script(example.schema + ";" + example.setup):
                outcome = db.run(statement)
                assert not isinstance(outcome, Rejected), f"example schema rejected: {outcome.error}"
            yield db
        finally:
            conn.close()
    else:
        raise ValueError(dialect)


def scalar(db, sql: str):
    rows = db.run(sql)
    assert not isinstance(rows, Rejected), rows.error
    return rows[0][0] if rows else None
