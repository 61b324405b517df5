"""Which database driver a module uses, from its import lines (the engine maps it to a dialect).

Read from the source text with one regex rather than from the tree: it costs
nothing next to parsing.
"""

from __future__ import annotations

import re

# Most specific first: a raw driver tells the dialect; SQLAlchemy and Django do not.
DRIVERS = ("psycopg2", "psycopg", "asyncpg", "aiosqlite", "sqlite3", "pymysql", "MySQLdb", "mysql.connector", "sqlalchemy", "django")

_IMPORT = re.compile(
    r"^[ \t]*(?:import|from)[ \t]+(psycopg2|psycopg|asyncpg|aiosqlite|sqlite3|pymysql|MySQLdb|mysql\.connector|sqlalchemy|django\.db)\b",
    re.M,
)


def module_driver(source: str) -> str | None:
    """The most specific driver any import line of the module names, or None."""
    seen = {m.group(1).removesuffix(".db") for m in _IMPORT.finditer(source)}
    return next((d for d in DRIVERS if d in seen), None)


# The database an ORM is configured for, where the code names it: a peewee database class,
# or a Django ENGINE. (URLs are left out: a default `sqlite://` for development beside a
# production URL from the environment says little.) Found by substring search, each hit
# checked where it stands: a regex over whole files cost more than the rest of the scan.
_PEEWEE_CLASS = re.compile(
    rb"(?<![\w.])(?:\w+\.)*(?P<name>Sqlite|SqliteExt|CSqliteExt|SqliteQueue|APSW|Postgresql|PostgresqlExt|PooledPostgresql"
    rb"|PooledPostgresqlExt|Cockroach|MySQL|PooledMySQL|MySQLConnector|PooledMySQLConnector)$"
)
_DJANGO_ENGINE = re.compile(rb"(?:contrib\.gis\.)?db\.backends\.(?P<name>\w+)[\'\"]")
_ENGINE_KEY = re.compile(rb"ENGINE[\'\"]?\s*[:=]\s*[\'\"]django\.$")


def _declared(word: str) -> str | None:
    word = word.lower().removeprefix("pooled")
    if word.startswith(("sqlite", "csqlite", "apsw", "spatialite")):
        return "sqlite"
    if word.startswith(("postgres", "postgis", "cockroach")):
        return "postgres"
    return "mysql" if word.startswith("mysql") else None


def declared_dialects(data: bytes) -> set[str]:
    """The dialects a file configures its ORM for (`SqliteDatabase(...)`,
    `"ENGINE": "django.db.backends.postgresql"`); empty for most files."""
    found: set[str] = set()
    index = data.find(b"Database")
    while index != -1:
        after = index + len(b"Database")
        match = _PEEWEE_CLASS.search(data, max(0, index - 40), index)
        if match and re.match(rb"\s*\(", data[after : after + 8]) and (dialect := _declared(match["name"].decode())):
            found.add(dialect)
        index = data.find(b"Database", after)
    index = data.find(b"db.backends.")
    while index != -1:
        start = data.rfind(b"django.", 0, index)
        match = _DJANGO_ENGINE.match(data, index - len(b"contrib.gis.") if data[index - 12 : index] == b"contrib.gis." else index)
        if start != -1 and index - start <= 20 and match and _ENGINE_KEY.search(data, max(0, start - 40), start + len(b"django.")):
            if dialect := _declared(match["name"].decode()):
                found.add(dialect)
        index = data.find(b"db.backends.", index + 1)
    return found
