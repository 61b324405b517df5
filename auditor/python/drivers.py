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
