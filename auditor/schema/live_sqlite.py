"""Read tables and keys from a SQLite database file (PRAGMAs + sqlite_master).

SQLite names implicit keys `sqlite_autoindex_<table>_<n>`; we report those with
no name, as the SQL reader does, since SQL cannot refer to them. An INTEGER
PRIMARY KEY is the rowid itself and has no index: it comes from table_info.
"""

from __future__ import annotations

import sqlite3

import sqlglot

from auditor.dialects import SQLITE
from auditor.model import LIVE_DATABASE, Catalog, Column, ForeignKey, KeyElement, KeyKind, Location, Table, TableName, UniqueKey
from auditor.sql.normalize import key_element, predicate_text

LIVE = Location(LIVE_DATABASE, 0)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _index_from_sql(sql: str) -> tuple[list[KeyElement], str | None]:
    tree = sqlglot.parse_one(sql, read="sqlite")
    params = tree.this.args.get("params")
    elements = [key_element(c, SQLITE) for c in params.args.get("columns") or []]
    return elements, predicate_text(params.args.get("where"), SQLITE)


def _foreign_keys(conn: sqlite3.Connection, table: str) -> list[ForeignKey]:
    """PRAGMA foreign_key_list: one row per column, grouped by id; `to` is NULL when the
    key references the parent's primary key without naming it."""
    grouped: dict[int, list[tuple]] = {}
    for fk_id, _seq, parent, column, to, *_ in conn.execute(f"PRAGMA foreign_key_list({_quote(table)})"):
        grouped.setdefault(fk_id, []).append((parent, column, to))
    return [
        ForeignKey(
            tuple(c.lower() for _, c, _ in rows), TableName("main", rows[0][0].lower()),
            () if any(to is None for _, _, to in rows) else tuple(to.lower() for _, _, to in rows), LIVE,
        )
        for _, rows in sorted(grouped.items())
    ]


def introspect_sqlite(path: str) -> Catalog:
    catalog = Catalog(dialect=SQLITE, sources=[LIVE_DATABASE])
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        for table_name in tables:
            name = TableName("main", table_name.lower())
            table = catalog.tables[name] = Table(name, LIVE)
            info = conn.execute(f"PRAGMA table_info({_quote(table_name)})").fetchall()
            for _cid, column, type_, notnull, _default, pk in info:
                table.columns[column.lower()] = Column(column.lower(), type_, not (notnull or pk), LIVE)
            pk_columns = [c[1].lower() for c in sorted((c for c in info if c[5]), key=lambda c: c[5])]
            indexes = conn.execute(f"PRAGMA index_list({_quote(table_name)})").fetchall()
            if pk_columns and not any(i[3] == "pk" for i in indexes):  # rowid alias: no index
                table.keys.append(UniqueKey(KeyKind.PRIMARY, None, tuple(map(KeyElement.column, pk_columns)), LIVE))
            for _seq, index_name, unique, origin, partial in indexes:
                if not unique:
                    continue
                if origin == "c":  # CREATE UNIQUE INDEX: its SQL has expressions and the predicate
                    sql = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?", (index_name,)).fetchone()[0]
                    elements, predicate = _index_from_sql(sql)
                    table.keys.append(UniqueKey(KeyKind.UNIQUE_INDEX, index_name.lower(), tuple(elements), LIVE, predicate=predicate))
                else:
                    columns = [r[2].lower() for r in conn.execute(f"PRAGMA index_info({_quote(index_name)})")]
                    kind = KeyKind.PRIMARY if origin == "pk" else KeyKind.UNIQUE_CONSTRAINT
                    table.keys.append(UniqueKey(kind, None, tuple(map(KeyElement.column, columns)), LIVE))
            table.foreign_keys.extend(_foreign_keys(conn, table_name))
    finally:
        conn.close()
    return catalog
