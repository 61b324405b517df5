"""The schema catalog: tables and their real unique keys, from SQL files or a live database."""

from __future__ import annotations

from pathlib import Path

from auditor.model import Catalog
from auditor.schema.ddl import apply_sql
from auditor.schema.discover import discover_schema_files


def catalog_from_sql(sql: str, dialect: str, path: str = "<schema>") -> Catalog:
    catalog = Catalog(dialect=dialect, sources=[path])
    apply_sql(catalog, sql, path)
    return catalog


def load_sql_schema(files: list[Path], root: Path, dialect: str) -> Catalog:
    """Apply every file, in the order given; paths in the catalog are relative to root."""
    from auditor.schema.sources import apply_sql_files

    catalog = Catalog(dialect=dialect)
    apply_sql_files(catalog, files, root)
    return catalog


def introspect_postgres(conninfo: str, schemas: list[str] | None = None) -> Catalog:
    from auditor.schema.live_postgres import introspect_postgres as introspect

    return introspect(conninfo, schemas)


def introspect_sqlite(path: str) -> Catalog:
    from auditor.schema.live_sqlite import introspect_sqlite as introspect

    return introspect(path)


__all__ = ["catalog_from_sql", "discover_schema_files", "introspect_postgres", "introspect_sqlite", "load_sql_schema"]
