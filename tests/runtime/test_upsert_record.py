"""upsert_record() on the real databases: it upserts atomically, returns the row, refuses a
key the table does not have, and many concurrent writers leave one complete row per key."""

from __future__ import annotations

import sqlite3
import threading

import pytest

import asyncio

from auditor.upsert import MissingUniqueKey, UnsupportedConnection, aupsert_record, upsert_record

psycopg = pytest.importorskip("psycopg")
pymysql = pytest.importorskip("pymysql")

TABLES = {
    "sqlite": [
        "CREATE TABLE prefs (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, theme TEXT, lang TEXT, UNIQUE (user_id))",
        "CREATE TABLE events (id INTEGER PRIMARY KEY, user_id INTEGER, kind TEXT)",
        "CREATE TABLE partial (id INTEGER PRIMARY KEY, email TEXT, deleted INTEGER)",
        "CREATE UNIQUE INDEX partial_email ON partial (email) WHERE deleted = 0",
    ],
    "postgres": [
        "CREATE TABLE prefs (id serial PRIMARY KEY, user_id int NOT NULL UNIQUE, theme text, lang text)",
        "CREATE TABLE events (id serial PRIMARY KEY, user_id int, kind text)",
        "CREATE TABLE partial (id serial PRIMARY KEY, email text, deleted boolean)",
        "CREATE UNIQUE INDEX partial_email ON partial (email) WHERE NOT deleted",
    ],
    "mysql": [
        "CREATE TABLE prefs (id int AUTO_INCREMENT PRIMARY KEY, user_id int NOT NULL, theme varchar(20), lang varchar(20), UNIQUE KEY prefs_user (user_id))",
        "CREATE TABLE events (id int AUTO_INCREMENT PRIMARY KEY, user_id int, kind varchar(20))",
        "CREATE TABLE partial (id int AUTO_INCREMENT PRIMARY KEY, email varchar(200), UNIQUE KEY partial_email (email(10)))",
    ],
}


class Database:
    """Fresh connections to one test database, with its tables created."""

    def __init__(self, dialect: str, connect):
        self.dialect, self.connect = dialect, connect
        conn = connect()
        cur = conn.cursor()
        for statement in TABLES[dialect]:
            cur.execute(statement)
        conn.commit()
        conn.close()

    def rows(self, table: str) -> list[tuple]:
        conn = self.connect()
        cur = conn.cursor()
        cur.execute(f"SELECT user_id, theme, lang FROM {table} ORDER BY user_id")
        rows = [tuple(r) for r in cur.fetchall()]
        conn.close()
        return rows


@pytest.fixture(params=["sqlite", "postgres", "psycopg2", "mysql", "mysqlclient"])
def database(request, tmp_path):
    if request.param == "sqlite":
        path = tmp_path / "db.sqlite"
        return Database("sqlite", lambda: sqlite3.connect(path, timeout=60, check_same_thread=False))
    if request.param == "postgres":
        url = request.getfixturevalue("pg_database")
        return Database("postgres", lambda: psycopg.connect(url))
    if request.param == "psycopg2":
        psycopg2 = pytest.importorskip("psycopg2")
        url = request.getfixturevalue("pg_database")
        return Database("postgres", lambda: psycopg2.connect(url))
    params = request.getfixturevalue("mariadb_database")
    if request.param == "mysqlclient":  # needs the MariaDB client headers to build: scripts/bootstrap installs them if it can
        mysqldb = pytest.importorskip("MySQLdb")
        return Database("mysql", lambda: mysqldb.connect(**params))
    return Database("mysql", lambda: pymysql.connect(**params))


def test_inserts_then_updates_and_returns_the_row(database):
    conn = database.connect()
    first = upsert_record(conn, "prefs", {"user_id": 7, "theme": "dark", "lang": "en"}, conflict=["user_id"])
    assert (first["user_id"], first["theme"], first["lang"]) == (7, "dark", "en")
    second = upsert_record(conn, "prefs", {"user_id": 7, "theme": "light", "lang": "fr"}, conflict=["user_id"], update=["theme"])
    assert (second["id"], second["theme"], second["lang"]) == (first["id"], "light", "en")  # same row; lang kept
    kept = upsert_record(conn.cursor(), "prefs", {"user_id": 7, "theme": "blue"}, conflict=["user_id"], update=[])
    assert kept["theme"] == "light"  # update=[]: an existing row is left as it is
    conn.commit()
    conn.close()
    assert database.rows("prefs") == [(7, "light", "en")]


def test_a_key_the_table_lacks_is_a_clear_error_not_the_drivers(database):
    conn = database.connect()
    with pytest.raises(MissingUniqueKey) as error:
        upsert_record(conn, "events", {"user_id": 1, "kind": "login"}, conflict=["user_id"])
    message = str(error.value)
    assert "(user_id) is not a unique key of table events" in message and "upsert-audit migrate" in message
    assert "its unique keys are (id)" in message
    # A partial (PostgreSQL, SQLite) or prefix (MySQL) unique key cannot arbitrate a plain upsert on the column.
    with pytest.raises(MissingUniqueKey):
        upsert_record(conn, "partial", {"email": "a@example.com"}, conflict=["email"])
    with pytest.raises(MissingUniqueKey, match="does not exist"):
        upsert_record(conn, "no_such_table", {"a": 1}, conflict=["a"])
    conn.close()


def test_many_concurrent_writers_leave_one_complete_row_per_key(database):
    """8 writers upsert the same 25 keys at once; every row must hold one writer's values."""
    writers, keys = 8, 25
    errors: list[BaseException] = []
    start = threading.Barrier(writers)

    def write(writer: int) -> None:
        conn = database.connect()
        try:
            start.wait()
            for key in range(keys):
                upsert_record(conn, "prefs", {"user_id": key, "theme": f"t{writer}", "lang": f"l{writer}"}, conflict=["user_id"])
                conn.commit()
        except BaseException as error:  # noqa: BLE001 - collected and asserted below
            errors.append(error)
        finally:
            conn.close()

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    rows = database.rows("prefs")
    assert [r[0] for r in rows] == list(range(keys))  # exactly one row per key
    assert all(theme[1:] == lang[1:] for _, theme, lang in rows)  # both columns from the same writer


def test_sqlalchemy_connection_and_session_with_a_model(pg_database, tmp_path):
    sqlalchemy = pytest.importorskip("sqlalchemy")
    from sqlalchemy import Integer, String
    from sqlalchemy.orm import DeclarativeBase, Session, mapped_column

    class Base(DeclarativeBase):
        pass

    class Pref(Base):
        __tablename__ = "prefs"
        id = mapped_column(Integer, primary_key=True)
        user_id = mapped_column(Integer, unique=True, nullable=False)
        theme = mapped_column(String(20))

    for url in (pg_database.replace("postgresql://", "postgresql+psycopg://"), f"sqlite:///{tmp_path / 'sa.db'}"):
        engine = sqlalchemy.create_engine(url)
        Base.metadata.create_all(engine)
        with engine.begin() as conn:
            row = upsert_record(conn, Pref.__table__, {"user_id": 1, "theme": "dark"}, conflict=["user_id"])
            assert row["theme"] == "dark"
        with Session(engine) as session:
            row = upsert_record(session, Pref, {"user_id": 1, "theme": "light"}, conflict=["user_id"])
            session.commit()
            assert session.get(Pref, row["id"]).theme == "light"
            with pytest.raises(MissingUniqueKey):
                upsert_record(session, Pref, {"theme": "x"}, conflict=["theme"])
        engine.dispose()


def test_bad_calls_are_clear_errors():
    conn = sqlite3.connect(":memory:")
    with pytest.raises(ValueError, match="conflict column"):
        upsert_record(conn, "t", {"a": 1}, conflict=["b"])
    with pytest.raises(ValueError, match="must not assign the conflict key"):
        upsert_record(conn, "t", {"a": 1, "b": 2}, conflict=["a"], update=["a"])
    with pytest.raises(UnsupportedConnection):
        upsert_record(object(), "t", {"a": 1}, conflict=["a"])


def test_asyncpg_twin_with_concurrent_tasks(pg_database):
    asyncpg = pytest.importorskip("asyncpg")

    async def scenario():
        setup = await asyncpg.connect(pg_database)
        for statement in TABLES["postgres"]:
            await setup.execute(statement)
        with pytest.raises(MissingUniqueKey, match="not a unique key of table events"):
            await aupsert_record(setup, "events", {"user_id": 1, "kind": "x"}, conflict=["user_id"])

        async def writer(n: int) -> None:
            conn = await asyncpg.connect(pg_database)
            try:
                for key in range(20):
                    await aupsert_record(conn, "prefs", {"user_id": key, "theme": f"t{n}", "lang": f"l{n}"}, conflict=["user_id"])
            finally:
                await conn.close()

        await asyncio.gather(*(writer(n) for n in range(8)))
        rows = await setup.fetch("SELECT user_id, theme, lang FROM prefs ORDER BY user_id")
        await setup.close()
        return [tuple(r) for r in rows]

    rows = asyncio.run(scenario())
    assert [r[0] for r in rows] == list(range(20))
    assert all(theme[1:] == lang[1:] for _, theme, lang in rows)


def test_aiosqlite_twin(tmp_path):
    aiosqlite = pytest.importorskip("aiosqlite")

    async def scenario():
        async with aiosqlite.connect(tmp_path / "a.db") as conn:
            for statement in TABLES["sqlite"]:
                await conn.execute(statement)
            row = await aupsert_record(conn, "prefs", {"user_id": 3, "theme": "dark"}, conflict=["user_id"])
            again = await aupsert_record(conn, "prefs", {"user_id": 3, "theme": "light"}, conflict=["user_id"])
            await conn.commit()
            with pytest.raises(MissingUniqueKey):
                await aupsert_record(conn, "events", {"user_id": 3}, conflict=["user_id"])
            return row, again

    row, again = asyncio.run(scenario())
    assert row["theme"] == "dark" and again["theme"] == "light" and again["id"] == row["id"]


DJANGO_SCRIPT = """
import sys
import django
from django.conf import settings

settings.configure(DATABASES={"default": %(database)r}, INSTALLED_APPS=[], USE_TZ=True)
django.setup()
from django.db import connection, models
from auditor.upsert import MissingUniqueKey, upsert_record

class Owner(models.Model):
    class Meta:
        app_label = "demo"

class Avatar(models.Model):
    owner = models.OneToOneField(Owner, on_delete=models.CASCADE)
    persona = models.CharField(max_length=20)
    class Meta:
        app_label = "demo"

class Visit(models.Model):
    owner = models.ForeignKey(Owner, on_delete=models.CASCADE)
    class Meta:
        app_label = "demo"

with connection.schema_editor() as editor:
    for model in (Owner, Avatar, Visit):
        editor.create_model(model)
owner = Owner.objects.create()
first = upsert_record(connection, Avatar, {"owner": owner.pk, "persona": "owl"}, conflict=["owner"])
second = upsert_record(connection, Avatar, {"owner": owner.pk, "persona": "fox"}, conflict=["owner"])
assert first["id"] == second["id"] and second["persona"] == "fox", (first, second)
assert Avatar.objects.get(owner=owner).persona == "fox"
try:
    upsert_record(connection, Visit, {"owner": owner.pk}, conflict=["owner"])
except MissingUniqueKey as error:
    print("refused:", error)
"""


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_django_connection_with_a_model(backend, request, tmp_path):
    import subprocess
    import sys
    from urllib.parse import urlparse

    if backend == "sqlite":
        database = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(tmp_path / "dj.db")}
    else:
        url = urlparse(request.getfixturevalue("pg_database"))
        database = {"ENGINE": "django.db.backends.postgresql", "NAME": url.path[1:], "USER": url.username or "",
                    "HOST": url.hostname, "PORT": str(url.port or 5432)}
    run = subprocess.run([sys.executable, "-c", DJANGO_SCRIPT % {"database": database}], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "refused: upsert_record: (owner_id) is not a unique key of table demo_visit" in run.stdout


def test_a_new_sqlite_connection_is_checked_even_where_an_old_one_was(tmp_path):
    """Python reuses a closed connection's id() for the next one: the key check must follow the
    database file, not the id, or a database without the key would skip it."""
    keyed, plain = tmp_path / "keyed.db", tmp_path / "plain.db"
    for path, ddl in ((keyed, "UNIQUE (user_id)"), (plain, "CHECK (1)")):
        with sqlite3.connect(path) as conn:
            conn.execute(f"CREATE TABLE prefs (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, theme TEXT, {ddl})")
    reused = 0
    for _ in range(20):
        good = sqlite3.connect(keyed)
        upsert_record(good, "prefs", {"user_id": 1, "theme": "dark"}, conflict=["user_id"])
        old_id = id(good)
        good.close()
        del good
        bad = sqlite3.connect(plain)
        reused += id(bad) == old_id
        with pytest.raises(MissingUniqueKey, match="prefs"):
            upsert_record(bad, "prefs", {"user_id": 1, "theme": "dark"}, conflict=["user_id"])
        bad.close()
    assert reused  # the situation really arose
