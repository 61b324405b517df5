"""The SQL dialects we know, and how each one folds identifiers."""

from __future__ import annotations

import string

POSTGRES = "postgres"
SQLITE = "sqlite"
MYSQL = "mysql"  # MySQL and MariaDB

DIALECTS = (POSTGRES, SQLITE, MYSQL)

# Names users write in configuration, mapped to ours.
ALIASES = {
    "postgres": POSTGRES,
    "postgresql": POSTGRES,
    "pg": POSTGRES,
    "sqlite": SQLITE,
    "sqlite3": SQLITE,
    "mysql": MYSQL,
    "mariadb": MYSQL,
}

_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
POSTGRES_NAME_BYTES = 63  # NAMEDATALEN - 1: PostgreSQL cuts a longer name (with a NOTICE)

# The schema an unqualified table name lands in.
DEFAULT_SCHEMA = {POSTGRES: "public", SQLITE: "main", MYSQL: None}


def canonical_dialect(name: str) -> str:
    """Map a user-facing dialect name to ours; raise ValueError naming the choices."""
    try:
        return ALIASES[name.strip().lower()]
    except KeyError:
        raise ValueError(
            f"unknown dialect {name!r}; choose one of: {', '.join(sorted(ALIASES))}"
        ) from None


def fold_identifier(name: str, quoted: bool, dialect: str) -> str:
    """The name the database stores for an identifier as written.

    PostgreSQL folds unquoted names to lower case (only A-Z, in a UTF-8 database) and keeps
    quoted ones as written; either is cut to 63 bytes.
    SQLite compares every identifier case-insensitively, quoted or not; MySQL/MariaDB
    compare column and index names case-insensitively. MySQL table names are
    case-sensitive on Linux, but we fold them too: code that relies on two tables
    differing only by case is rare, and a false match costs less than a missed one.
    """
    if dialect == POSTGRES:
        return clip_postgres_name(name if quoted else name.translate(_ASCII_LOWER))
    return name.lower()


def clip_utf8(text: str, size: int) -> str:
    """The first `size` bytes of `text` in UTF-8, never half a character."""
    encoded = text.encode()
    return encoded[:size].decode(errors="ignore") if len(encoded) > size else text


def clip_postgres_name(name: str) -> str:
    """An identifier as PostgreSQL stores it: its first 63 bytes."""
    return clip_utf8(name, POSTGRES_NAME_BYTES)
