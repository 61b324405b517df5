"""upsert_record() can be watched in production: the "upsert_audit" logger, on the real databases.

The key check is logged at INFO once per (database, table, key), a missing key at WARNING before
MissingUniqueKey is raised, and every call at DEBUG with what the database did to the row. Each
"inserted" / "updated" / "unchanged" is checked against the database itself (the row count, the
values, PostgreSQL's row version), and no value reaches any record unless the call asks.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
import uuid

import pytest

from auditor.upsert import MissingUniqueKey, aupsert_record, upsert_record

psycopg = pytest.importorskip("psycopg")
pymysql = pytest.importorskip("pymysql")

LOGGER = "upsert_audit"
SECRET = "s3cret-theme-5f1e9"  # a value no record may hold unless the call opts in
KEY = 73914682  # a key value, a value too
PASSWORD = "pw-7c2d1a"  # PostgreSQL trusts this machine, so a password in the URL still connects

TABLES = {
    "sqlite": [
        "CREATE TABLE prefs (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL UNIQUE, theme TEXT)",
        "CREATE TABLE events (id INTEGER PRIMARY KEY, user_id INTEGER, kind TEXT)",
    ],
    "postgres": [
        "CREATE TABLE prefs (id serial PRIMARY KEY, user_id int NOT NULL UNIQUE, theme text)",
        "CREATE TABLE events (id serial PRIMARY KEY, user_id int, kind text)",
    ],
    "mysql": [
        "CREATE TABLE prefs (id int AUTO_INCREMENT PRIMARY KEY, user_id int NOT NULL UNIQUE, theme varchar(40))",
        "CREATE TABLE events (id int AUTO_INCREMENT PRIMARY KEY, user_id int, kind varchar(40))",
    ],
}


def create(conn, dialect: str) -> None:
    cur = conn.cursor()
    for statement in TABLES[dialect]:
        cur.execute(statement)
    conn.commit()


@pytest.fixture(params=["sqlite", "psycopg", "psycopg2", "pymysql", "mysqlclient"])
def database(request, tmp_path):
    """(dialect, a fresh connection with the tables created)."""
    if request.param == "sqlite":
        conn, dialect = sqlite3.connect(tmp_path / "db.sqlite"), "sqlite"
    elif request.param in ("pymysql", "mysqlclient"):
        driver = pymysql if request.param == "pymysql" else pytest.importorskip("MySQLdb")
        conn, dialect = driver.connect(**request.getfixturevalue("mariadb_database")), "mysql"
    else:
        driver = psycopg if request.param == "psycopg" else pytest.importorskip("psycopg2")
        url = request.getfixturevalue("pg_database").replace("postgres@", f"postgres:{PASSWORD}@")
        conn, dialect = driver.connect(url), "postgres"
    create(conn, dialect)
    yield dialect, conn
    conn.close()


def records(caplog, level: int | None = None, event: str | None = None) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == LOGGER and (level is None or r.levelno == level)
            and (event is None or r.upsert["event"] == event)]


def everything(caplog) -> str:
    """All that the records hold: each message and every attribute (args, extra)."""
    return "\n".join(r.getMessage() + repr(vars(r)) for r in records(caplog))


def row(conn, table: str = "prefs", column: str = "theme") -> list[tuple]:
    cur = conn.cursor()
    cur.execute(f"SELECT {column} FROM {table} WHERE user_id = {KEY}")
    return [tuple(r) for r in cur.fetchall()]


def database_name(dialect: str, conn) -> str:
    """The name the database answers to (a SQLite file's path)."""
    cur = conn.cursor()
    cur.execute({"postgres": "SELECT current_database()", "mysql": "SELECT DATABASE()", "sqlite": "PRAGMA database_list"}[dialect])
    found = cur.fetchone()
    return found[2] if dialect == "sqlite" else found[0]


def row_version(conn) -> str:
    """PostgreSQL's ctid: a new one means the database wrote a new version of the row."""
    cur = conn.cursor()
    cur.execute(f"SELECT ctid::text FROM prefs WHERE user_id = {KEY}")
    return cur.fetchone()[0]


# What each database can say about an upsert's DO UPDATE: SQLite cannot tell an insert from an update.
SAYS = {"postgres": ("inserted", "updated"), "mysql": ("inserted", "updated"), "sqlite": ("unknown", "unknown")}


def test_key_check_once_at_info_then_each_call_says_what_the_database_did(database, caplog):
    dialect, conn = database
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    assert row(conn) == []
    upsert_record(conn, "prefs", {"user_id": KEY, "theme": SECRET}, conflict=["user_id"])
    assert row(conn) == [(SECRET,)]  # the database inserted it
    (check,) = records(caplog, logging.INFO)
    assert check.upsert == {"event": "key check", "table": "prefs", "key": ["user_id"], "database": check.upsert["database"], "result": "unique key"}
    assert check.getMessage().startswith(f"upsert_record key check: table prefs, key (user_id), database {dialect} ")
    assert check.getMessage().endswith(": a unique key")
    assert database_name(dialect, conn) in check.upsert["database"] and PASSWORD not in check.getMessage()
    (first,) = records(caplog, logging.DEBUG, "upsert")
    assert first.upsert["outcome"] == SAYS[dialect][0] and first.upsert["table"] == "prefs" and first.upsert["key"] == ["user_id"]
    assert first.getMessage() == f"upsert_record: table prefs, key (user_id): {SAYS[dialect][0]} in {first.upsert['ms']:.3f} ms"
    assert first.upsert["ms"] >= 0

    caplog.clear()
    version = row_version(conn) if dialect == "postgres" else None
    upsert_record(conn, "prefs", {"user_id": KEY, "theme": "dark"}, conflict=["user_id"])
    assert row(conn) == [("dark",)]  # the same one row, changed: the database updated it
    assert records(caplog, event="key check") == []  # checked once per (database, table, key)
    (second,) = records(caplog, logging.DEBUG, "upsert")
    assert second.upsert["outcome"] == SAYS[dialect][1]
    if dialect == "postgres":
        assert row_version(conn) != version

    caplog.clear()
    version = row_version(conn) if dialect == "postgres" else None
    upsert_record(conn, "prefs", {"user_id": KEY, "theme": "dark"}, conflict=["user_id"])  # the values it already has
    (third,) = records(caplog, logging.DEBUG, "upsert")
    if dialect == "postgres":
        assert row_version(conn) != version
    # MariaDB leaves a row that already holds the values as it is; PostgreSQL writes a new version.
    assert third.upsert["outcome"] == {"mysql": "unchanged", "postgres": "updated", "sqlite": "unknown"}[dialect]
    assert row(conn) == [("dark",)]
    conn.commit()
    assert SECRET not in everything(caplog) and str(KEY) not in everything(caplog)


def test_no_value_in_any_record_unless_the_call_asks(database, caplog):
    dialect, conn = database
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    upsert_record(conn, "prefs", {"user_id": KEY, "theme": SECRET}, conflict=["user_id"])
    with pytest.raises(MissingUniqueKey):
        upsert_record(conn, "events", {"user_id": KEY, "kind": SECRET}, conflict=["user_id"])
    assert len(records(caplog)) == 3  # key check, the call, the failed key check
    text = everything(caplog)
    assert SECRET not in text and str(KEY) not in text and PASSWORD not in text

    caplog.clear()
    upsert_record(conn, "prefs", {"user_id": KEY, "theme": SECRET}, conflict=["user_id"], log_values=True)
    (call,) = records(caplog, logging.DEBUG, "upsert")
    assert call.upsert["values"] == {"user_id": KEY, "theme": SECRET}
    assert call.getMessage().endswith(f" ms, values {{'user_id': {KEY}, 'theme': {SECRET!r}}}")
    conn.commit()


def test_a_missing_key_logs_a_warning_then_raises(database, caplog):
    dialect, conn = database
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    for _ in range(2):  # a failed check is not remembered: each call checks, logs and raises
        with pytest.raises(MissingUniqueKey, match=r"\(user_id\) is not a unique key of table events"):
            upsert_record(conn, "events", {"user_id": KEY, "kind": SECRET}, conflict=["user_id"])
    warnings = records(caplog, logging.WARNING)
    assert len(warnings) == 2 and records(caplog, logging.DEBUG) == [] and records(caplog, logging.INFO) == []
    message = warnings[0].getMessage()
    assert message.startswith(f"upsert_record key check: table events, key (user_id), database {dialect} ")
    assert "MissingUniqueKey: (user_id) is not a unique key of table events; its unique keys are (id)" in message
    assert "upsert-audit migrate" in message
    assert warnings[0].upsert["result"] == "missing"
    assert row(conn, "events", "kind") == []  # nothing was written
    assert SECRET not in everything(caplog) and str(KEY) not in everything(caplog)


def test_do_nothing_says_inserted_then_unchanged_on_every_database(database, caplog):
    """update=[]: a row comes back only from the insert, so every database (SQLite too) can tell."""
    dialect, conn = database
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    upsert_record(conn, "prefs", {"user_id": KEY, "theme": "first"}, conflict=["user_id"], update=[])
    upsert_record(conn, "prefs", {"user_id": KEY, "theme": "second"}, conflict=["user_id"], update=[])
    assert row(conn) == [("first",)]
    assert [r.upsert["outcome"] for r in records(caplog, logging.DEBUG, "upsert")] == ["inserted", "unchanged"]
    conn.commit()


def test_with_the_logger_off_no_record_and_no_clock(database, caplog, monkeypatch):
    dialect, conn = database
    caplog.set_level(logging.WARNING, logger=LOGGER)

    def no_clock():
        raise AssertionError("perf_counter read with DEBUG off")

    monkeypatch.setattr(time, "perf_counter", no_clock)
    first = upsert_record(conn, "prefs", {"user_id": KEY, "theme": "a"}, conflict=["user_id"])
    second = upsert_record(conn, "prefs", {"user_id": KEY, "theme": "b"}, conflict=["user_id"])
    monkeypatch.undo()
    assert records(caplog) == []
    assert second == dict(first, theme="b")  # the row as the table has it: nothing added, nothing lost
    conn.commit()


def test_an_in_memory_sqlite_is_checked_every_call_but_logged_at_info_once(caplog):
    """An in-memory database has no name to cache its check under: the check runs on every call,
    and the log says so once at INFO, then at DEBUG."""
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    table = f"memo_{uuid.uuid4().hex[:8]}"  # the process remembers unnamed checks by (table, key)
    conn = sqlite3.connect(":memory:")
    conn.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, user_id INTEGER UNIQUE, theme TEXT)")
    for theme in ("a", "b", "c"):
        upsert_record(conn, table, {"user_id": 1, "theme": theme}, conflict=["user_id"])
    checks = records(caplog, event="key check")
    assert [r.levelno for r in checks] == [logging.INFO, logging.DEBUG, logging.DEBUG]
    assert checks[0].upsert["database"] == "sqlite (unnamed: checked on every call)"


def test_mysql_with_found_rows_says_unknown_where_affected_rows_cannot_tell(mariadb_database, mariadb_url, caplog):
    """SQLAlchemy and Django connect with CLIENT_FOUND_ROWS: an unchanged row then counts 1, like an insert."""
    sqlalchemy = pytest.importorskip("sqlalchemy")
    from pymysql.constants import CLIENT
    from sqlalchemy.orm import Session

    caplog.set_level(logging.DEBUG, logger=LOGGER)
    conn = pymysql.connect(client_flag=CLIENT.FOUND_ROWS, **mariadb_database)
    create(conn, "mysql")
    for theme in ("a", "b", "b"):
        upsert_record(conn, "prefs", {"user_id": KEY, "theme": theme}, conflict=["user_id"])
    conn.commit()
    assert row(conn) == [("b",)]
    conn.close()
    engine = sqlalchemy.create_engine(mariadb_url.replace("mysql://", "mysql+pymysql://"))
    with Session(engine) as session:
        for theme in ("x", "y", "y"):
            upsert_record(session, "prefs", {"user_id": 5, "theme": theme}, conflict=["user_id"])
        session.commit()
    engine.dispose()
    outcomes = [r.upsert["outcome"] for r in records(caplog, logging.DEBUG, "upsert")]
    assert outcomes == ["unknown", "updated", "unknown"] * 2


def test_a_partitioned_postgres_table_upserts_and_says_unknown(pg_database, caplog):
    """A partitioned table refuses xmax in RETURNING: the upsert must not ask for it there."""
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    with psycopg.connect(pg_database) as conn:
        conn.execute("CREATE TABLE readings (sensor int, day int, value text, PRIMARY KEY (sensor, day)) PARTITION BY RANGE (day)")
        conn.execute("CREATE TABLE readings_1 PARTITION OF readings FOR VALUES FROM (0) TO (100)")
        first = upsert_record(conn, "readings", {"sensor": 1, "day": 5, "value": "a"}, conflict=["sensor", "day"])
        second = upsert_record(conn, "readings", {"sensor": 1, "day": 5, "value": "b"}, conflict=["sensor", "day"])
        assert (first, second) == ({"sensor": 1, "day": 5, "value": "a"}, {"sensor": 1, "day": 5, "value": "b"})
    assert [r.upsert["outcome"] for r in records(caplog, logging.DEBUG, "upsert")] == ["unknown", "unknown"]


def test_the_async_twins_log_like_the_blocking_one(pg_database, tmp_path, caplog):
    asyncpg = pytest.importorskip("asyncpg")
    aiosqlite = pytest.importorskip("aiosqlite")
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    table = f"prefs_{uuid.uuid4().hex[:8]}"  # aiosqlite's database has no name: its checks are remembered by table

    async def scenario():
        conn = await asyncpg.connect(pg_database)
        await conn.execute(TABLES["postgres"][0])
        for theme in (SECRET, "dark"):
            await aupsert_record(conn, "prefs", {"user_id": KEY, "theme": theme}, conflict=["user_id"])
        pg_rows = await conn.fetch(f"SELECT theme FROM prefs WHERE user_id = {KEY}")
        with pytest.raises(MissingUniqueKey):
            await aupsert_record(conn, "no_such_table", {"user_id": KEY}, conflict=["user_id"])
        await conn.close()
        async with aiosqlite.connect(tmp_path / "a.db") as lite:
            await lite.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, user_id INTEGER UNIQUE, theme TEXT)")
            for theme in ("a", "b"):
                await aupsert_record(lite, table, {"user_id": KEY, "theme": theme}, conflict=["user_id"], update=[])
            await aupsert_record(lite, table, {"user_id": 2, "theme": SECRET}, conflict=["user_id"], log_values=True)
        return [tuple(r) for r in pg_rows]

    assert asyncio.run(scenario()) == [("dark",)]
    pg = [r for r in records(caplog) if r.upsert["table"] in ("prefs", "no_such_table")]
    assert [(r.levelname, r.upsert["event"], r.upsert.get("outcome")) for r in pg] == [
        ("INFO", "key check", None), ("DEBUG", "upsert", "inserted"), ("DEBUG", "upsert", "updated"), ("WARNING", "key check", None),
    ]
    assert "(the table does not exist)" in pg[-1].getMessage()
    lite = [r for r in records(caplog) if r.upsert["table"] == table]
    assert [(r.levelname, r.upsert.get("outcome")) for r in lite] == [
        ("INFO", None), ("DEBUG", "inserted"), ("DEBUG", None), ("DEBUG", "unchanged"), ("DEBUG", None), ("DEBUG", "unknown"),
    ]
    assert lite[-1].upsert["values"] == {"user_id": 2, "theme": SECRET}
    assert SECRET not in "\n".join(r.getMessage() + repr(vars(r)) for r in pg + lite[:-1])
