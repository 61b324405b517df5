"""Read tables and unique keys from a running MySQL / MariaDB (information_schema), read-only.

STATISTICS lists every index with NON_UNIQUE = 0 for unique ones, column by column
(SEQ_IN_INDEX), with SUB_PART for a prefix key and, on MySQL 8, EXPRESSION for a
functional key part. MySQL keeps no difference between a unique index and a unique
constraint, so both are reported as unique constraints (the SQL reader agrees).
Table and column names are folded like the SQL reader folds them.
"""

from __future__ import annotations

from urllib.parse import unquote, urlparse

from auditor.dialects import MYSQL
from auditor.model import LIVE_DATABASE, Catalog, Column, ForeignKey, KeyElement, KeyKind, Location, Table, TableName, UniqueKey
from auditor.schema.driver import import_driver

LIVE = Location(LIVE_DATABASE, 0)

COLUMNS = """
SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE
FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE()
ORDER BY TABLE_NAME, ORDINAL_POSITION
"""
KEYS = """
SELECT TABLE_NAME, INDEX_NAME, COLUMN_NAME, SUB_PART, {expression}
FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND NON_UNIQUE = 0
ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX
"""
FOREIGN_KEYS = """
SELECT TABLE_NAME, CONSTRAINT_NAME, COLUMN_NAME, REFERENCED_TABLE_NAME, REFERENCED_COLUMN_NAME
FROM information_schema.KEY_COLUMN_USAGE
WHERE TABLE_SCHEMA = DATABASE() AND REFERENCED_TABLE_SCHEMA = DATABASE()
ORDER BY TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION
"""
HAS_EXPRESSION = """
SELECT COUNT(*) FROM information_schema.COLUMNS
WHERE TABLE_SCHEMA = 'information_schema' AND TABLE_NAME = 'STATISTICS' AND COLUMN_NAME = 'EXPRESSION'
"""


def connect_arguments(url: str) -> dict:
    parts = urlparse(url)
    database = parts.path.lstrip("/")
    if not database:
        raise ValueError("a MySQL URL needs a database: mysql://user@host:3306/name")
    return {
        "host": parts.hostname or "127.0.0.1", "port": parts.port or 3306, "user": unquote(parts.username or "root"),
        "password": unquote(parts.password or ""), "database": database,
    }


def _element(column: str | None, sub_part, expression: str | None) -> KeyElement:
    if column is None:
        return KeyElement(expression or "?", True, ())
    name = column.lower()
    if sub_part is not None:
        return KeyElement(f"{name}({sub_part})", True, (name,))
    return KeyElement.column(name)


def introspect_mysql(url: str) -> Catalog:
    pymysql = import_driver(MYSQL, url)
    catalog = Catalog(dialect=MYSQL, sources=[LIVE_DATABASE])
    conn = pymysql.connect(connect_timeout=10, **connect_arguments(url))
    try:
        with conn.cursor() as cursor:
            cursor.execute("SET SESSION TRANSACTION READ ONLY")
            cursor.execute(COLUMNS)
            for table, column, type_, nullable in cursor.fetchall():
                name = TableName(None, table.lower())
                record = catalog.tables.setdefault(name, Table(name, LIVE))
                record.columns[column.lower()] = Column(column.lower(), type_, nullable == "YES", LIVE)
            cursor.execute(HAS_EXPRESSION)
            expression = "EXPRESSION" if cursor.fetchone()[0] else "NULL"
            cursor.execute(KEYS.format(expression=expression))
            keys: dict[tuple[str, str], list[KeyElement]] = {}
            for table, index, column, sub_part, expr in cursor.fetchall():
                keys.setdefault((table.lower(), index), []).append(_element(column, sub_part, expr))
            cursor.execute(FOREIGN_KEYS)
            foreign: dict[tuple[str, str], list[tuple[str, str, str]]] = {}
            for table, constraint, column, referenced, referenced_column in cursor.fetchall():
                foreign.setdefault((table.lower(), constraint), []).append((column.lower(), referenced.lower(), referenced_column.lower()))
        for (table, constraint), rows in foreign.items():
            catalog.tables[TableName(None, table)].foreign_keys.append(
                ForeignKey(tuple(r[0] for r in rows), TableName(None, rows[0][1]), tuple(r[2] for r in rows), LIVE, constraint)
            )
        for (table, index), elements in keys.items():
            kind = KeyKind.PRIMARY if index == "PRIMARY" else KeyKind.UNIQUE_CONSTRAINT
            name = index if kind is KeyKind.PRIMARY else index.lower()
            catalog.tables[TableName(None, table)].keys.append(UniqueKey(kind, name, tuple(elements), LIVE))
    finally:
        conn.close()
    return catalog
