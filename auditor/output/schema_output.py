"""`upsert-audit schema`: the catalog the audit sees, to debug "why did (or didn't) it flag this".

Text lists each table with its columns, keys and foreign keys, and where each was defined;
`--format json` gives the same as one object with stable keys.
"""

from __future__ import annotations

import json

from auditor import __version__
from auditor.model import LIVE_DATABASE, Catalog, Diagnostic, KeyKind, Location, Table, UniqueKey

KIND = {KeyKind.PRIMARY: "primary", KeyKind.UNIQUE_CONSTRAINT: "unique", KeyKind.UNIQUE_INDEX: "index", KeyKind.EXCLUSION: "exclusion"}


def source(location: Location) -> str:
    """`path:line`, or `database` for what a live database reported."""
    return "database" if location.path == LIVE_DATABASE else f"{location.path}:{location.line}"


def key_record(key: UniqueKey) -> dict:
    return {
        "kind": KIND[key.kind],
        "name": key.name,
        "columns": [e.text for e in key.elements if not e.is_expression],
        "expressions": [e.text for e in key.elements if e.is_expression],
        "elements": [e.text for e in key.elements],  # in key order, columns and expressions together
        "include": list(key.include),
        "predicate": key.predicate,
        "deferrable": key.deferrable,
        "initially_deferred": key.initially_deferred,
        "nulls_distinct": not key.nulls_not_distinct,
        "valid": key.valid,
        "source": source(key.origin),
    }


def table_record(table: Table) -> dict:
    return {
        "schema": table.name.schema,
        "name": table.name.name,
        "source": source(table.origin),
        "columns": [{"name": c.name, "type": c.type, "nullable": c.nullable} for c in table.columns.values()],
        "keys": [key_record(k) for k in table.keys],
        "foreign_keys": [
            {
                "name": f.name, "columns": list(f.columns), "references": str(f.references),
                "referenced_columns": list(f.referenced_columns), "source": source(f.origin),
            }
            for f in table.foreign_keys
        ],
    }


def _diagnostic(d: Diagnostic) -> dict:
    return {"path": d.path, "line": d.line, "kind": d.kind, "message": d.message}


def render_schema_json(catalog: Catalog, kinds: list[str]) -> str:
    document = {
        "version": __version__,
        "dialect": catalog.dialect,
        "sources": kinds,
        "files": catalog.sources,
        "tables": [table_record(catalog.tables[name]) for name in sorted(catalog.tables)],
        "diagnostics": [_diagnostic(d) for d in catalog.diagnostics],
    }
    return json.dumps(document, indent=2) + "\n"


def render_schema_text(catalog: Catalog, kinds: list[str]) -> str:
    lines = [f"dialect: {catalog.dialect}", f"sources: {', '.join(kinds) or 'none found'}", ""]
    for name in sorted(catalog.tables):
        table = catalog.tables[name]
        lines.append(f"{name}  ({source(table.origin)})")
        for column in table.columns.values():
            lines.append(f"  {column.name:<24} {column.type or '?':<20} {'NULL' if column.nullable else 'NOT NULL'}")
        for key in table.keys:
            lines.append(f"  {key.describe()}  ({source(key.origin)})")
        for foreign_key in table.foreign_keys:
            lines.append(f"  {foreign_key.describe()}  ({source(foreign_key.origin)})")
        lines.append("")
    if not catalog.tables:
        lines.append("no tables found: give --schema, --database-url, or run in the project folder")
    for diagnostic in catalog.diagnostics:
        lines.append(f"note: {diagnostic}")
    return "\n".join(lines).rstrip("\n") + "\n"
