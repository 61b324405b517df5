"""The schema as it was at one migration: for writes inside migration files.

A data migration (a Django RunPython function, an Alembic revision's `op.execute(...)`) runs
against the tables of its own point in the history, not the final ones: a table dropped by a
later migration still exists there, and a key added later does not exist yet. While the
migration readers' DDL is applied in order, the catalog is copied at the end of each migration
file that may write rows (its bytes hold a write the scan would find), so a write there runs
after the DDL of its own migration, as a RunPython placed after its schema operations does.
A table the history never had (made by `create_all` from the models, or by SQL files, before
the first revision, as redash does) is there at every migration as it is at the end.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from auditor.model import Catalog
from auditor.python.files import may_hold_orm_idiom, may_hold_sql_call
from auditor.schema import read_log
from auditor.schema.source import SchemaSource


def may_write(root: Path, relative: str) -> bool:
    """Can this migration file hold a write site (the scan's own pre-filters)?"""
    try:
        data = read_log.read_bytes(root / relative)
    except OSError:
        return False
    return may_hold_sql_call(data) or may_hold_orm_idiom(data)


def snapshot(catalog: Catalog) -> Catalog:
    """A copy the later DDL cannot change: tables are copied, their frozen columns, keys and
    foreign keys shared."""
    copied = Catalog(catalog.dialect, {
        name: replace(table, columns=dict(table.columns), keys=list(table.keys), foreign_keys=list(table.foreign_keys), referenced_by=[])
        for name, table in catalog.tables.items()
    })
    copied.link_children()
    return copied


def apply_with_snapshots(catalog: Catalog, source: SchemaSource, root: Path) -> dict[str, Catalog]:
    """Apply a migration reader's statements to `catalog` (as apply_source does), and return
    the catalog after each of its files that may write rows."""
    from auditor.schema.ddl import apply_sql

    last = {statement.path: index for index, statement in enumerate(source.statements)}
    ends = {index: path for path, index in last.items() if may_write(root, path)}
    at: dict[str, Catalog] = {}
    for index, statement in enumerate(source.statements):
        apply_sql(catalog, statement.sql, statement.path, statement.line)
        if index in ends:
            at[ends[index]] = snapshot(catalog)
    catalog.sources.extend(f for f in source.files if f not in catalog.sources)
    catalog.diagnostics.extend(source.diagnostics)
    return at


def with_tables_from_elsewhere(at_migration: dict[str, Catalog], final: Catalog, history_tables: set) -> None:
    """Add to each migration-time catalog the final tables the history never had."""
    elsewhere = {name: table for name, table in final.tables.items() if name not in history_tables}
    for catalog in at_migration.values():
        for name, table in elsewhere.items():  # a copy: linking this catalog must not touch the final one's
            catalog.tables.setdefault(name, replace(table, referenced_by=[]))
        if elsewhere:
            catalog.link_children()
