"""`upsert_record()`: one atomic insert-or-update, the fix upsert-audit's codemod writes.

    from auditor.upsert import upsert_record

    row = upsert_record(conn, "avatar_configurations",
                        {"user_id": 7, "persona": "owl", "updated_at": now},
                        conflict=["user_id"])

It emits the database's own atomic upsert, never a read-then-write:
PostgreSQL and SQLite `INSERT ... ON CONFLICT (key) DO UPDATE SET c = EXCLUDED.c`,
MySQL/MariaDB `INSERT ... ON DUPLICATE KEY UPDATE c = VALUES(c)` (the form both
accept). Identifiers are quoted, every value is a bind parameter, and the
resulting row comes back as a dict.

Before its first use of a (database, table, key) it checks, once per process,
that `conflict` is a unique key of the live table, and otherwise raises
MissingUniqueKey naming the table, the columns and the fix, instead of the
driver's cryptic error (or, on MySQL, silent duplicates).

`conn` is a DB-API connection or cursor (sqlite3, psycopg 3, psycopg2, PyMySQL,
mysqlclient), a SQLAlchemy Connection or Session (then `table` may also be a
model class or a Table), or Django's `connection` (then `table` is a model class
and `values` use field names); `aupsert_record()` is the awaitable twin for asyncpg and
aiosqlite. Standard library only: the caller's driver does the work. The steps
are written once, as a generator of queries (`upsert_protocol`), that a blocking
or an asyncio driver runs.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from typing import Any, Callable, Generator, Iterable, Mapping, Sequence

__all__ = ["MissingUniqueKey", "UnsupportedConnection", "aupsert_record", "upsert_record"]

POSTGRES, SQLITE, MYSQL = "postgres", "sqlite", "mysql"

# The DB-API module a connection class comes from -> (dialect, placeholder for the n-th value)
DBAPI_DRIVERS: dict[str, tuple[str, Callable[[int], str]]] = {
    "sqlite3": (SQLITE, lambda n: "?"),
    "psycopg": (POSTGRES, lambda n: "%s"),
    "psycopg2": (POSTGRES, lambda n: "%s"),
    "pymysql": (MYSQL, lambda n: "%s"),
    "MySQLdb": (MYSQL, lambda n: "%s"),
}
SQLALCHEMY_DIALECTS = {"postgresql": POSTGRES, "sqlite": SQLITE, "mysql": MYSQL, "mariadb": MYSQL}


class MissingUniqueKey(Exception):
    """The conflict columns are not a unique key of the table: the upsert cannot be atomic."""

    def __init__(self, table: str, columns: Sequence[str], detail: str = ""):
        self.table, self.columns = table, tuple(columns)
        super().__init__(
            f"upsert_record: ({', '.join(columns)}) is not a unique key of table {table}{detail}; "
            f"an upsert on it cannot be atomic. Add the key (remove duplicates first): run "
            f"`upsert-audit migrate` to generate the migration."
        )


class UnsupportedConnection(TypeError):
    pass


# --- statements ------------------------------------------------------------------


def quote(name: str, dialect: str) -> str:
    mark = "`" if dialect == MYSQL else '"'
    return mark + name.replace(mark, mark * 2) + mark


def quote_table(table: str, dialect: str) -> str:
    """`schema.table` quotes each part; a name with a dot inside must come pre-split by the caller."""
    return ".".join(quote(part, dialect) for part in table.split("."))


def upsert_sql(dialect: str, table: str, columns: Sequence[str], conflict: Sequence[str], update: Sequence[str], placeholder: Callable[[int], str]) -> str:
    """The atomic upsert statement; with `update` empty a conflicting row is left as it is."""
    q = lambda c: quote(c, dialect)  # noqa: E731
    head = (
        f"INSERT INTO {quote_table(table, dialect)} ({', '.join(map(q, columns))}) "
        f"VALUES ({', '.join(placeholder(i) for i in range(len(columns)))})"
    )
    if dialect == MYSQL:
        # VALUES(c) works on MariaDB and MySQL (the `AS new` row alias is MySQL-only). With nothing
        # to update, assigning a key column to itself keeps the row and, unlike INSERT IGNORE,
        # swallows no other error.
        assignments = [f"{q(c)} = VALUES({q(c)})" for c in update] or [f"{q(conflict[0])} = {q(conflict[0])}"]
        return f"{head} ON DUPLICATE KEY UPDATE {', '.join(assignments)}"
    target = f"ON CONFLICT ({', '.join(map(q, conflict))})"
    if not update:
        return f"{head} {target} DO NOTHING"
    return f"{head} {target} DO UPDATE SET {', '.join(f'{q(c)} = EXCLUDED.{q(c)}' for c in update)}"


def select_sql(dialect: str, table: str, conflict: Sequence[str], placeholder: Callable[[int], str]) -> str:
    where = " AND ".join(f"{quote(c, dialect)} = {placeholder(i)}" for i, c in enumerate(conflict))
    return f"SELECT * FROM {quote_table(table, dialect)} WHERE {where}"


# --- the live unique-key check ------------------------------------------------------

# Each returns one row per usable arbiter: a valid, immediate, non-partial unique key over plain
# columns (what ON CONFLICT (cols) can infer, and what makes ON DUPLICATE KEY fire on cols).
POSTGRES_KEYS = """
SELECT ARRAY(SELECT a.attname::text FROM unnest(i.indkey[0 : i.indnkeyatts - 1]) k(attnum)  -- spaced: not a SQLAlchemy bind
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum)
FROM pg_index i
WHERE i.indrelid = to_regclass({p0}) AND i.indisunique AND i.indisvalid AND i.indimmediate
  AND i.indpred IS NULL AND i.indexprs IS NULL
"""
POSTGRES_TABLE = "SELECT to_regclass({p0}) IS NOT NULL"
MYSQL_KEYS = """
SELECT INDEX_NAME, COLUMN_NAME, SUB_PART FROM information_schema.STATISTICS
WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = {p0} AND NON_UNIQUE = 0
ORDER BY INDEX_NAME, SEQ_IN_INDEX
"""


# The key lookup is written once, as a generator that yields (sql, params) and is sent the
# rows, so the same code serves blocking drivers and asyncio ones.
Query = Generator[tuple[str, Sequence], list[dict], Any]


def _tuples(rows: list[dict]) -> list[tuple]:
    return [tuple(r.values()) for r in rows]


def _sqlite_keys(table: str) -> Query:
    info = _tuples((yield f"PRAGMA table_info({quote_table(table, SQLITE)})", ()))
    if not info:
        return None
    keys = []
    for _seq, index, unique, _origin, partial in _tuples((yield f"PRAGMA index_list({quote_table(table, SQLITE)})", ())):
        if unique and not partial:
            columns = [r[2] for r in _tuples((yield f"PRAGMA index_info({quote(index, SQLITE)})", ()))]
            if columns and None not in columns:  # an expression key has no column name
                keys.append({c.lower() for c in columns})
    pk = {r[1].lower() for r in info if r[5]}
    if pk:  # INTEGER PRIMARY KEY is the rowid: it has no index, but it is a key
        keys.append(pk)
    return keys


def unique_keys_query(dialect: str, table: str, placeholder: Callable[[int], str]) -> Query:
    """Column sets of the table's usable unique keys; None if the table does not exist."""
    p0 = placeholder(0)
    if dialect == POSTGRES:
        name = quote_table(table, POSTGRES)
        if not _tuples((yield POSTGRES_TABLE.format(p0=p0), (name,)))[0][0]:
            return None
        return [set(row[0]) for row in _tuples((yield POSTGRES_KEYS.format(p0=p0), (name,)))]
    if dialect == SQLITE:
        return (yield from _sqlite_keys(table))
    keys: dict[str, set[str]] = {}
    prefixed: set[str] = set()
    bare = table.split(".")[-1]
    for index, column, sub_part in _tuples((yield MYSQL_KEYS.format(p0=p0), (bare,))):
        keys.setdefault(index, set()).add(column.lower())
        if sub_part is not None:  # a prefix key compares only the prefix: not the column's key
            prefixed.add(index)
    if not keys and not (yield f"SHOW TABLES LIKE {p0}", (bare,)):
        return None
    return [columns for index, columns in keys.items() if index not in prefixed]


def run_query(query: Query, run: Callable[[str, Sequence], list[dict]]):
    """Drive a query generator with a blocking `run`."""
    try:
        sql, params = next(query)
        while True:
            sql, params = query.send(run(sql, params))
    except StopIteration as done:
        return done.value


async def arun_query(query: Query, run):
    """Drive a query generator with an awaitable `run`."""
    try:
        sql, params = next(query)
        while True:
            sql, params = query.send(await run(sql, params))
    except StopIteration as done:
        return done.value


_checked: set[tuple] = set()
_checked_lock = threading.Lock()


def _cache_key(executor: "Executor", table: str, conflict: Sequence[str]) -> tuple:
    wanted = frozenset(c if executor.dialect == POSTGRES else c.lower() for c in conflict)
    return (executor.identity, executor.dialect, table, wanted)


def _already_checked(cache_key: tuple) -> bool:
    if cache_key[0] is None:  # a database we cannot name is checked every time
        return False
    with _checked_lock:
        return cache_key in _checked


def _judge(cache_key: tuple, keys: list[set[str]] | None, table: str, conflict: Sequence[str]) -> None:
    """Raise MissingUniqueKey unless `conflict` is exactly one of `keys`; remember a pass."""
    if keys is None:
        raise MissingUniqueKey(table, conflict, " (the table does not exist)")
    if not any(k == cache_key[-1] for k in keys):
        found = "; its unique keys are " + ", ".join("(" + ", ".join(sorted(k)) + ")" for k in keys) if keys else "; it has no unique key"
        raise MissingUniqueKey(table, conflict, found)
    if cache_key[0] is not None:
        with _checked_lock:
            _checked.add(cache_key)


# --- connections ----------------------------------------------------------------------


@dataclass
class Executor:
    """What upsert_record needs from a connection: a dialect, placeholders, and a way to run SQL."""

    dialect: str
    placeholder: Callable[[int], str]
    run: Callable[[str, Sequence], Any]  # rows as [{column: value}] (awaitable for asyncio drivers)
    # Which database: the key check is cached per database. None when the connection cannot
    # say (an in-memory SQLite database): never by id(), which Python reuses for a new
    # connection once the old one is gone, so a check could be skipped for another database.
    identity: tuple | None


def _dicts(description: Sequence | None, rows: Iterable[Sequence]) -> list[dict]:
    """DB-API rows as {column: value}, by the cursor's description."""
    if not description:
        return []
    names = [d[0] for d in description]
    return [dict(zip(names, row)) for row in rows]


def _module(obj: Any) -> str:
    return type(obj).__module__.split(".")[0]


def _dbapi_identity(connection: Any, dialect: str) -> tuple:
    info = getattr(connection, "info", None)
    if dialect == POSTGRES and info is not None:  # psycopg 3 and psycopg2 >= 2.8
        return (info.host, info.port, info.dbname)
    if dialect == MYSQL and hasattr(connection, "host"):  # PyMySQL
        return (connection.host, connection.port, connection.db)
    if dialect == MYSQL:  # mysqlclient keeps no such attributes: ask the server
        cursor = connection.cursor()
        cursor.execute("SELECT @@hostname, @@port, DATABASE()")
        identity = tuple(cursor.fetchone())
        cursor.close()
        return identity
    return _sqlite_file(connection)


def _sqlite_file(connection: Any) -> tuple | None:
    """The file a sqlite3 connection's main database is; None for an in-memory one."""
    rows = connection.execute("PRAGMA database_list").fetchall()
    path = next((row[2] for row in rows if row[1] == "main"), "")
    return ("sqlite", path) if path else None


def dbapi_executor(conn: Any) -> Executor:
    is_cursor = hasattr(conn, "fetchone")
    connection = conn.connection if is_cursor else conn
    dialect, placeholder = DBAPI_DRIVERS[_module(connection)]
    cursor = conn if is_cursor else conn.cursor()

    def run(sql: str, params: Sequence) -> list[dict]:
        cursor.execute(sql, tuple(params))
        return _dicts(cursor.description, cursor.fetchall() if cursor.description else ())

    return Executor(dialect, placeholder, run, _dbapi_identity(connection, dialect))


def sqlalchemy_executor(conn: Any) -> Executor:
    from sqlalchemy import text  # the caller uses SQLAlchemy, so it is installed

    bind = conn.get_bind() if hasattr(conn, "get_bind") else conn
    dialect = SQLALCHEMY_DIALECTS.get(bind.dialect.name)
    if dialect is None:
        raise UnsupportedConnection(f"upsert_record: SQLAlchemy dialect {bind.dialect.name!r} is not supported")
    placeholder = lambda n: f":p{n}"  # noqa: E731

    def run(sql: str, params: Sequence) -> list[dict]:
        result = conn.execute(text(sql), {f"p{i}": v for i, v in enumerate(params)})
        return [dict(r._mapping) for r in result] if result.returns_rows else []

    url = getattr(getattr(bind, "engine", bind), "url", None)
    identity = (url.host, url.port, url.database) if url is not None and (url.host or url.database) else None
    return Executor(dialect, placeholder, run, identity)


DJANGO_VENDORS = {"postgresql": POSTGRES, "sqlite": SQLITE, "mysql": MYSQL}


def django_executor(conn: Any) -> Executor:
    """django.db.connection (or connections[alias]): its cursor takes %s on every backend."""
    dialect = DJANGO_VENDORS.get(conn.vendor)
    if dialect is None:
        raise UnsupportedConnection(f"upsert_record: Django backend {conn.vendor!r} is not supported")

    def run(sql: str, params: Sequence) -> list[dict]:
        with conn.cursor() as cursor:
            cursor.execute(sql, list(params))
            return _dicts(cursor.description, cursor.fetchall() if cursor.description else ())

    return Executor(dialect, lambda n: "%s", run, (conn.alias, str(conn.settings_dict.get("NAME"))))


def executor_for(conn: Any) -> Executor:
    module = _module(conn)
    if module == "sqlalchemy":
        return sqlalchemy_executor(conn)
    if module == "django":
        return django_executor(conn)
    connection = conn.connection if hasattr(conn, "fetchone") and hasattr(conn, "connection") else conn
    if _module(connection) in DBAPI_DRIVERS:
        return dbapi_executor(conn)
    raise UnsupportedConnection(
        f"upsert_record: unsupported connection {type(conn).__module__}.{type(conn).__name__}; pass a DB-API connection "
        f"or cursor (sqlite3, psycopg, psycopg2, PyMySQL, mysqlclient), a SQLAlchemy Connection or Session, or Django's connection"
    )


def asyncpg_executor(conn: Any) -> Executor:
    async def run(sql: str, params: Sequence) -> list[dict]:
        return [dict(r) for r in await conn.fetch(sql, *params)]

    params = getattr(conn, "_params", None)
    identity = (getattr(conn, "_addr", None), getattr(params, "database", None)) if params else None
    return Executor(POSTGRES, lambda n: f"${n + 1}", run, identity)


def aiosqlite_executor(conn: Any) -> Executor:
    async def run(sql: str, params: Sequence) -> list[dict]:
        cursor = await conn.execute(sql, tuple(params))
        try:
            return _dicts(cursor.description, await cursor.fetchall() if cursor.description else ())
        finally:
            await cursor.close()

    return Executor(SQLITE, lambda n: "?", run, None)  # its sqlite3 connection lives in another thread


def async_executor_for(conn: Any) -> Executor:
    module = _module(conn)
    if module == "asyncpg":
        return asyncpg_executor(conn)
    if module == "aiosqlite":
        return aiosqlite_executor(conn)
    raise UnsupportedConnection(
        f"aupsert_record: unsupported connection {type(conn).__module__}.{type(conn).__name__}; pass an asyncpg or aiosqlite connection"
    )


def table_name(table: Any) -> str:
    """A name, a SQLAlchemy Table (`fullname`), a mapped class (`__table__`) or a Django model."""
    if isinstance(table, str):
        return table
    meta = getattr(table, "_meta", None)
    if meta is not None and isinstance(getattr(meta, "db_table", None), str):
        return meta.db_table
    table = getattr(table, "__table__", table)
    fullname = getattr(table, "fullname", None)
    if isinstance(fullname, str):
        return fullname
    raise TypeError(f"upsert_record: table must be a name, a SQLAlchemy Table or a mapped class, not {type(table).__name__}")


# --- the helper -------------------------------------------------------------------------


def _validate(values: Mapping[str, Any], conflict: Iterable[str], update: Iterable[str] | None) -> tuple[list[str], list[str], list[str]]:
    columns = list(values)
    conflict = list(conflict)
    if not conflict:
        raise ValueError("upsert_record: conflict must name the unique key's columns")
    missing = [c for c in conflict if c not in values]
    if missing:
        raise ValueError(f"upsert_record: conflict column(s) {', '.join(missing)} have no value")
    if update is None:
        update = [c for c in columns if c not in conflict]
    else:
        update = list(update)
        unknown = [c for c in update if c not in values]
        if unknown:
            raise ValueError(f"upsert_record: update column(s) {', '.join(unknown)} have no value")
        if any(c in conflict for c in update):
            raise ValueError("upsert_record: update must not assign the conflict key's own columns")
    return columns, conflict, update


def column_names(table: Any, names: Iterable[str]) -> list[str]:
    """Django field names (`user`) to their columns (`user_id`); other tables use column names."""
    meta = getattr(table, "_meta", None)
    if meta is None or not hasattr(meta, "get_field"):
        return list(names)
    return [meta.get_field(n).column for n in names]


def upsert_protocol(executor: Executor, table: Any, values: Mapping[str, Any], conflict: Sequence[str], update: Sequence[str] | None) -> Query:
    """The whole upsert as queries: check the key (once), upsert, return the row."""
    if getattr(table, "_meta", None) is not None and hasattr(table._meta, "get_field"):
        values = dict(zip(column_names(table, values), values.values()))
        conflict = column_names(table, conflict)
        update = None if update is None else column_names(table, update)
    columns, conflict, update = _validate(values, conflict, update)
    name = table_name(table)
    dialect, placeholder = executor.dialect, executor.placeholder
    cache_key = _cache_key(executor, name, conflict)
    if not _already_checked(cache_key):
        _judge(cache_key, (yield from unique_keys_query(dialect, name, placeholder)), name, conflict)
    sql = upsert_sql(dialect, name, columns, conflict, update, placeholder)
    params = [values[c] for c in columns]
    if dialect == POSTGRES or (dialect == SQLITE and sqlite3.sqlite_version_info >= (3, 35)):
        rows = yield sql + " RETURNING *", params
        if rows:
            return rows[0]
    else:
        yield sql, params
    # MySQL (and SQLite < 3.35) has no RETURNING, and DO NOTHING returns no row on a conflict:
    # read the row by its key, in the same transaction.
    rows = yield select_sql(dialect, name, conflict, placeholder), [values[c] for c in conflict]
    return rows[0]


def upsert_record(conn: Any, table: Any, values: Mapping[str, Any], conflict: Sequence[str], update: Sequence[str] | None = None) -> dict:
    """Insert `values` into `table`, or on a conflict on the unique key `conflict` update the
    `update` columns (default: every other given column), atomically; return the row."""
    executor = executor_for(conn)
    return run_query(upsert_protocol(executor, table, values, conflict, update), executor.run)


async def aupsert_record(conn: Any, table: Any, values: Mapping[str, Any], conflict: Sequence[str], update: Sequence[str] | None = None) -> dict:
    """upsert_record() for asyncio drivers: an asyncpg or aiosqlite connection."""
    executor = async_executor_for(conn)
    return await arun_query(upsert_protocol(executor, table, values, conflict, update), executor.run)
