"""Which database driver a module uses, from its imports (the engine maps it to a dialect)."""

from __future__ import annotations

import ast

# Most specific first: a raw driver tells the dialect; SQLAlchemy and Django do not.
DRIVERS = ("psycopg2", "psycopg", "asyncpg", "aiosqlite", "sqlite3", "pymysql", "MySQLdb", "mysql.connector", "sqlalchemy", "django")


def _driver_of(module: str) -> str | None:
    if module.startswith("django.db"):
        return "django"
    for driver in DRIVERS:
        if module == driver or module.startswith(driver + "."):
            return driver
    return None


def module_driver(tree: ast.AST) -> str | None:
    """The most specific driver any import in the module names, or None."""
    seen: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            seen.update(filter(None, (_driver_of(alias.name) for alias in node.names)))
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            seen.update(filter(None, [_driver_of(node.module)] + [_driver_of(f"{node.module}.{a.name}") for a in node.names]))
    return next((d for d in DRIVERS if d in seen), None)
