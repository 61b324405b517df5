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

It logs to `logging.getLogger("upsert_audit")` (silent until the application
configures logging): each key check at INFO (a failed one at WARNING, before
MissingUniqueKey is raised), and each call at DEBUG with the table, the key
columns, whether the row was inserted, updated or left unchanged (or "unknown"
where the database cannot say), and how long it took. Values are logged only
when a call passes `log_values=True`.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Generator, Iterable, Mapping, NamedTuple, Sequence

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

logger = logging.getLogger("upsert_audit")
# A library's records go nowhere until the application configures logging; without this,
# Python's last-resort handler would print the WARNINGs to stderr of an unconfigured program.
logger.addHandler(logging.NullHandler())

# What one call did to the row, as its DEBUG record says.
INSERTED, UPDATED, UNCHANGED, UNKNOWN = "inserted", "updated", "unchanged", "unknown"


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
POSTGRES_TABLE = "SELECT relkind::text FROM pg_class WHERE oid = to_regclass({p0})"
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


class TableKeys(NamedTuple):
    """What the key check learned about a table."""

    keys: list[set[str]]  # column sets of its usable unique keys
    # PostgreSQL: RETURNING may read the xmax system column (a plain table; a partitioned one refuses it)
    xmax: bool = False


def unique_keys_query(dialect: str, table: str, placeholder: Callable[[int], str]) -> Query:
    """The table's usable unique keys (TableKeys); None if the table does not exist."""
    p0 = placeholder(0)
    if dialect == POSTGRES:
        name = quote_table(table, POSTGRES)
        kind = _tuples((yield POSTGRES_TABLE.format(p0=p0), (name,)))
        if not kind:
            return None
        return TableKeys([set(row[0]) for row in _tuples((yield POSTGRES_KEYS.format(p0=p0), (name,)))], xmax=kind[0][0] == "r")
    if dialect == SQLITE:
        keys = yield from _sqlite_keys(table)
        return None if keys is None else TableKeys(keys)
    keys: dict[str, set[str]] = {}
    prefixed: set[str] = set()
    bare = table.split(".")[-1]
    for index, column, sub_part in _tuples((yield MYSQL_KEYS.format(p0=p0), (bare,))):
        keys.setdefault(index, set()).add(column.lower())
        if sub_part is not None:  # a prefix key compares only the prefix: not the column's key
            prefixed.add(index)
    if not keys and not (yield f"SHOW TABLES LIKE {p0}", (bare,)):
        return None
    return TableKeys([columns for index, columns in keys.items() if index not in prefixed])


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


_checked: dict[tuple, TableKeys] = {}  # passed checks by _cache_key
_checked_lock = threading.Lock()


def _cache_key(executor: "Executor", table: str, conflict: Sequence[str]) -> tuple:
    wanted = frozenset(c if executor.dialect == POSTGRES else c.lower() for c in conflict)
    return (executor.identity, executor.dialect, table, wanted)


def _already_checked(cache_key: tuple) -> TableKeys | None:
    """The passed check to reuse; None when the key must be checked."""
    if cache_key[0] is None:  # a database we cannot name is checked every time
        return None
    with _checked_lock:
        return _checked.get(cache_key)


def _remember(cache_key: tuple, table_keys: TableKeys) -> bool:
    """Record a passed check; True the first time this process passes this (database, table, key).
    An unnamed database's key is recorded too, for the log only: _already_checked ignores it."""
    with _checked_lock:
        first = cache_key not in _checked
        _checked[cache_key] = table_keys
    return first


def _missing_key(table_keys: TableKeys | None, table: str, conflict: Sequence[str], wanted: frozenset) -> MissingUniqueKey | None:
    """The error to raise unless `conflict` is exactly one of the table's keys."""
    if table_keys is None:
        return MissingUniqueKey(table, conflict, " (the table does not exist)")
    keys = table_keys.keys
    if any(k == wanted for k in keys):
        return None
    found = "; its unique keys are " + ", ".join("(" + ", ".join(sorted(k)) + ")" for k in keys) if keys else "; it has no unique key"
    return MissingUniqueKey(table, conflict, found)


def _judge(cache_key: tuple, table_keys: TableKeys | None, table: str, conflict: Sequence[str]) -> TableKeys:
    """Raise MissingUniqueKey unless `conflict` is exactly one of the table's keys; remember a pass.
    Logs the verdict: a pass at INFO the first time per (database, table, key), a failure at WARNING
    every time (the exception goes to the caller, who may swallow it; the record stays in the log)."""
    error = _missing_key(table_keys, table, conflict, cache_key[-1])
    if error is not None:
        log_key_check(logging.WARNING, cache_key, table, conflict, f"MissingUniqueKey: {str(error).removeprefix('upsert_record: ')}")
        raise error
    if cache_key[0] is None and not logger.isEnabledFor(logging.INFO):
        return table_keys  # checked on every call: with nothing to log, nothing to remember
    level = logging.INFO if _remember(cache_key, table_keys) else logging.DEBUG
    if logger.isEnabledFor(level):
        log_key_check(level, cache_key, table, conflict, "a unique key")
    return table_keys


def log_key_check(level: int, cache_key: tuple, table: str, conflict: Sequence[str], verdict: str) -> None:
    """One key check's record: the table, the key columns, the database as the cache names it."""
    identity, dialect = cache_key[0], cache_key[1]
    database = f"{dialect} {identity!r}" if identity is not None else f"{dialect} (unnamed: checked on every call)"
    facts = {"event": "key check", "table": table, "key": list(conflict), "database": database,
             "result": "unique key" if level < logging.WARNING else "missing"}
    logger.log(level, "upsert_record key check: table %s, key (%s), database %s: %s",
               table, ", ".join(conflict), database, verdict, extra={"upsert": facts})


# --- connections ----------------------------------------------------------------------


@dataclass
class Executor:
    """What upsert_record needs from a connection: a dialect, placeholders, and a way to run SQL."""

    dialect: str
    placeholder: Callable[[int], str]
    run: Callable[[str, Sequence], Any]  # rows as [{column: value}], or NoRows (awaitable for asyncio drivers)
    # Which database: the key check is cached per database. None when the connection cannot
    # say (an in-memory SQLite database): never by id(), which Python reuses for a new
    # connection once the old one is gone, so a check could be skipped for another database.
    identity: tuple | None
    # The driver's own connection, for what only it can tell (MySQL's client flags); None if unknown.
    dbapi: Callable[[], Any] = lambda: None


class NoRows(list):
    """What `run` returns for a statement without result rows: no rows, and the driver's rowcount
    (the only answer MySQL gives to "inserted or updated?"; -1 where the driver has none)."""

    def __init__(self, affected: int = -1):
        super().__init__()
        self.affected = affected


def _dicts(description: Sequence | None, rows: Iterable[Sequence], affected: int = -1) -> list[dict]:
    """DB-API rows as {column: value}, by the cursor's description."""
    if not description:
        return NoRows(affected)
    names = [d[0] for d in description]
    return [dict(zip(names, row)) for row in rows]


def _module(obj: Any) -> str:
    return type(obj).__module__.split(".")[0]


def _dbapi_identity(connection: Any, dialect: str) -> tuple:
    info = getattr(connection, "info", None)
    if dialect == POSTGRES and info is not None:  # psycopg 3 and psycopg2 >= 2.8
        return (info.host, info.port, info.dbname)
    if dialect == MYSQL and hasattr(connection, "host"):  # PyMySQL (its db becomes bytes once connected)
        db = connection.db
        return (connection.host, connection.port, db.decode() if isinstance(db, bytes) else db)
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
        return _dicts(cursor.description, cursor.fetchall() if cursor.description else (), cursor.rowcount)

    return Executor(dialect, placeholder, run, _dbapi_identity(connection, dialect), lambda: connection)


def sqlalchemy_executor(conn: Any) -> Executor:
    from sqlalchemy import text  # the caller uses SQLAlchemy, so it is installed

    bind = conn.get_bind() if hasattr(conn, "get_bind") else conn
    dialect = SQLALCHEMY_DIALECTS.get(bind.dialect.name)
    if dialect is None:
        raise UnsupportedConnection(f"upsert_record: SQLAlchemy dialect {bind.dialect.name!r} is not supported")
    placeholder = lambda n: f":p{n}"  # noqa: E731

    def run(sql: str, params: Sequence) -> list[dict]:
        result = conn.execute(text(sql), {f"p{i}": v for i, v in enumerate(params)})
        return [dict(r._mapping) for r in result] if result.returns_rows else NoRows(result.rowcount)

    def dbapi() -> Any:
        connection = conn.connection() if hasattr(conn, "get_bind") else conn  # a Session's own Connection
        return getattr(connection.connection, "dbapi_connection", None)

    url = getattr(getattr(bind, "engine", bind), "url", None)
    identity = (url.host, url.port, url.database) if url is not None and (url.host or url.database) else None
    return Executor(dialect, placeholder, run, identity, dbapi)


DJANGO_VENDORS = {"postgresql": POSTGRES, "sqlite": SQLITE, "mysql": MYSQL}


def django_executor(conn: Any) -> Executor:
    """django.db.connection (or connections[alias]): its cursor takes %s on every backend."""
    dialect = DJANGO_VENDORS.get(conn.vendor)
    if dialect is None:
        raise UnsupportedConnection(f"upsert_record: Django backend {conn.vendor!r} is not supported")

    def run(sql: str, params: Sequence) -> list[dict]:
        with conn.cursor() as cursor:
            cursor.execute(sql, list(params))
            return _dicts(cursor.description, cursor.fetchall() if cursor.description else (), cursor.rowcount)

    return Executor(dialect, lambda n: "%s", run, (conn.alias, str(conn.settings_dict.get("NAME"))), lambda: conn.connection)


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
            return _dicts(cursor.description, await cursor.fetchall() if cursor.description else (), cursor.rowcount)
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


# PostgreSQL's flag for "this row was inserted", returned beside the row and popped from it. A row
# version that ON CONFLICT DO UPDATE wrote carries the updating transaction in xmax (it locked the
# old version first); a freshly inserted one has xmax = 0.
INSERTED_FLAG = "upsert_audit_inserted"
CLIENT_FOUND_ROWS = 2  # the MySQL protocol's client capability flag


def mysql_outcome(affected: int, found_rows: bool | None) -> str:
    """MySQL/MariaDB's affected rows for one INSERT ... ON DUPLICATE KEY UPDATE: 1 inserted, 2
    updated, 0 an existing row already held the values. With CLIENT_FOUND_ROWS (SQLAlchemy and
    Django set it) an unchanged row counts 1 as well, so 1 means inserted only without that flag."""
    if affected == 2:
        return UPDATED
    if affected == 0:
        return UNCHANGED
    return INSERTED if affected == 1 and found_rows is False else UNKNOWN


def found_rows(dbapi_connection: Any) -> bool | None:
    """Whether a PyMySQL / mysqlclient connection counts found rows as affected; None if it cannot say."""
    flag = getattr(dbapi_connection, "client_flag", None)
    return bool(flag & CLIENT_FOUND_ROWS) if isinstance(flag, int) else None


def rowcount_outcome(dialect: str, update: Sequence[str], affected: int, dbapi: Callable[[], Any]) -> str:
    """What the upsert did, from the driver's rowcount (the statements without RETURNING)."""
    if dialect == MYSQL:
        return mysql_outcome(affected, found_rows(dbapi()) if affected == 1 else None)
    if update:  # SQLite counts an upsert's update as one change, like an insert
        return UNKNOWN
    return {1: INSERTED, 0: UNCHANGED}.get(affected, UNKNOWN)


# How the upsert statement's own result tells what it did.
FLAG, RETURNED, ROWCOUNT = "flag", "returned", "rowcount"


def write_statement(dialect: str, table: str, columns: list[str], conflict: list[str], update: list[str],
                    placeholder: Callable[[int], str], xmax: bool) -> tuple[str, str]:
    """The upsert statement, and which of FLAG / RETURNED / ROWCOUNT its result answers with."""
    sql = upsert_sql(dialect, table, columns, conflict, update, placeholder)
    if dialect == POSTGRES and xmax and update:
        return f"{sql} RETURNING *, (xmax = 0) AS {INSERTED_FLAG}", FLAG
    if dialect == POSTGRES or (dialect == SQLITE and sqlite3.sqlite_version_info >= (3, 35)):
        return sql + " RETURNING *", RETURNED
    return sql, ROWCOUNT


def read_answer(answer: str, rows: list[dict], dialect: str, update: list[str], dbapi: Callable[[], Any]) -> tuple[dict | None, str]:
    """(the row if the statement returned it, what was done to it) from the upsert's own result."""
    if answer == ROWCOUNT:
        return None, rowcount_outcome(dialect, update, getattr(rows, "affected", -1), dbapi)
    if not rows:  # DO NOTHING met an existing row and kept it (DO UPDATE only if a trigger skipped the write)
        return None, UNKNOWN if update else UNCHANGED
    row = rows[0]
    if answer == FLAG:
        return row, INSERTED if row.pop(INSERTED_FLAG) else UPDATED
    # DO NOTHING returns a row only when it inserted one. After DO UPDATE, SQLite's RETURNING (or a
    # partitioned PostgreSQL table's, which refuses xmax) shows the row as written, not which path
    # wrote it; changes() and last_insert_rowid() cannot tell either.
    return row, UNKNOWN if update else INSERTED


def upsert_protocol(executor: Executor, table: Any, values: Mapping[str, Any], conflict: Sequence[str], update: Sequence[str] | None,
                    log_values: bool = False, started: float | None = None) -> Query:
    """The whole upsert as queries: check the key (once), upsert, return the row. `started`, the
    call's perf_counter() when its DEBUG record is wanted (else None), asks for that record."""
    if getattr(table, "_meta", None) is not None and hasattr(table._meta, "get_field"):
        values = dict(zip(column_names(table, values), values.values()))
        conflict = column_names(table, conflict)
        update = None if update is None else column_names(table, update)
    columns, conflict, update = _validate(values, conflict, update)
    name = table_name(table)
    cache_key = _cache_key(executor, name, conflict)
    table_keys = _already_checked(cache_key)
    if table_keys is None:
        table_keys = _judge(cache_key, (yield from unique_keys_query(executor.dialect, name, executor.placeholder)), name, conflict)
    sql, answer = write_statement(executor.dialect, name, columns, conflict, update, executor.placeholder, table_keys.xmax)
    row, outcome = read_answer(answer, (yield sql, [values[c] for c in columns]), executor.dialect, update, executor.dbapi)
    if row is None:
        # MySQL (and SQLite < 3.35) has no RETURNING, and DO NOTHING returns no row on a conflict:
        # read the row by its key, in the same transaction.
        row = (yield select_sql(executor.dialect, name, conflict, executor.placeholder), [values[c] for c in conflict])[0]
    if started is not None:
        log_call(name, conflict, outcome, (time.perf_counter() - started) * 1000, values if log_values else None)
    return row


def _started() -> float | None:
    """The clock for the DEBUG record, read only when that record will be written: with the logger
    off, one isEnabledFor() (a cached dict lookup) is all a call pays."""
    return time.perf_counter() if logger.isEnabledFor(logging.DEBUG) else None


def log_call(table: str, conflict: Sequence[str], outcome: str, elapsed_ms: float, values: Mapping[str, Any] | None) -> None:
    """The per-call DEBUG record; the values only when the call asked for them."""
    ms = round(elapsed_ms, 3)
    facts = {"event": "upsert", "table": table, "key": list(conflict), "outcome": outcome, "ms": ms}
    if values is None:
        logger.debug("upsert_record: table %s, key (%s): %s in %.3f ms", table, ", ".join(conflict), outcome, ms,
                     extra={"upsert": facts})
    else:
        logger.debug("upsert_record: table %s, key (%s): %s in %.3f ms, values %r", table, ", ".join(conflict), outcome, ms,
                     dict(values), extra={"upsert": dict(facts, values=dict(values))})


def upsert_record(conn: Any, table: Any, values: Mapping[str, Any], conflict: Sequence[str], update: Sequence[str] | None = None, *, log_values: bool = False) -> dict:
    """Insert `values` into `table`, or on a conflict on the unique key `conflict` update the
    `update` columns (default: every other given column), atomically; return the row.
    `log_values=True` puts the values in this call's DEBUG record (never logged otherwise)."""
    started = _started()
    executor = executor_for(conn)
    return run_query(upsert_protocol(executor, table, values, conflict, update, log_values, started), executor.run)


async def aupsert_record(conn: Any, table: Any, values: Mapping[str, Any], conflict: Sequence[str], update: Sequence[str] | None = None, *, log_values: bool = False) -> dict:
    """upsert_record() for asyncio drivers: an asyncpg or aiosqlite connection."""
    started = _started()
    executor = async_executor_for(conn)
    return await arun_query(upsert_protocol(executor, table, values, conflict, update, log_values, started), executor.run)
