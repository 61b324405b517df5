"""The schema catalog: tables and their real unique keys, from SQL files or a live database."""

from __future__ import annotations

from pathlib import Path

from auditor.model import Catalog, Diagnostic
from auditor.schema.ddl import apply_sql
from auditor.schema.discover import discover_schema_files


def catalog_from_sql(sql: str, dialect: str, path: str = "<schema>") -> Catalog:
    catalog = Catalog(dialect=dialect, sources=[path])
    apply_sql(catalog, sql, path)
    return catalog


def load_sql_schema(files: list[Path], root: Path, dialect: str) -> Catalog:
    """Apply every file, in the order given; paths in the catalog are relative to root."""
    catalog = Catalog(dialect=dialect)
    for file in files:
        try:
            relative = file.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            relative = file.as_posix()
        try:
            text = file.read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError) as error:
            catalog.diagnostics.append(Diagnostic(relative, f"schema file could not be read: {error}", None, "decode-error"))
            continue
        catalog.sources.append(relative)
        apply_sql(catalog, text, relative)
    return catalog


def introspect_postgres(conninfo: str, schemas: list[str] | None = None) -> Catalog:
    from auditor.schema.live_postgres import introspect_postgres as introspect

    return introspect(conninfo, schemas)


def introspect_sqlite(path: str) -> Catalog:
    from auditor.schema.live_sqlite import introspect_sqlite as introspect

    return introspect(path)


__all__ = ["catalog_from_sql", "discover_schema_files", "introspect_postgres", "introspect_sqlite", "load_sql_schema"]
