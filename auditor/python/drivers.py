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
# production URL from the environment says little.)
_DECLARATION = re.compile(
    rb"\b(?P<peewee>Sqlite|SqliteExt|CSqliteExt|SqliteQueue|APSW|Postgresql|PostgresqlExt|PooledPostgresql|PooledPostgresqlExt"
    rb"|Cockroach|MySQL|PooledMySQL|MySQLConnector|PooledMySQLConnector)Database\s*\("
    rb"|[\'\"]?ENGINE[\'\"]?\s*[:=]\s*[\'\"]django(?:\.contrib\.gis)?\.db\.backends\.(?P<django>\w+)[\'\"]"
)
_DECLARATION_NEEDLES = (b"Database", b"django.db.backends.", b"django.contrib.gis.db.backends.")


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
    if not any(needle in data for needle in _DECLARATION_NEEDLES):
        return set()
    return {d for m in _DECLARATION.finditer(data) if (d := _declared((m["peewee"] or m["django"]).decode()))}
