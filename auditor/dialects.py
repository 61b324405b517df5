"""The SQL dialects we know, and how each one folds identifiers."""

from __future__ import annotations

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

    PostgreSQL folds unquoted names to lower case and keeps quoted ones as written.
    SQLite compares every identifier case-insensitively, quoted or not; MySQL/MariaDB
    compare column and index names case-insensitively. MySQL table names are
    case-sensitive on Linux, but we fold them too: code that relies on two tables
    differing only by case is rare, and a false match costs less than a missed one.
    """
    if dialect == POSTGRES and quoted:
        return name
    return name.lower()
