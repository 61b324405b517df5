"""Schema evidence and SQL names for rule messages: what the table really has, and where."""

from __future__ import annotations

from auditor.dialects import DEFAULT_SCHEMA
from auditor.findings import Evidence
from auditor.model import Table, UniqueKey


def sql_table_name(table: Table, dialect: str) -> str:
    """The table as the user would write it: unqualified in its dialect's default schema."""
    name = table.name
    if name.schema is None or name.schema == DEFAULT_SCHEMA.get(dialect):
        return name.name
    return f"{name.schema}.{name.name}"


def key_evidence(key: UniqueKey) -> Evidence:
    return Evidence(key.describe(), key.origin)


def table_keys_evidence(table: Table) -> tuple[Evidence, ...]:
    """Every key of the table, or a statement that it has none."""
    if not table.keys:
        return (Evidence(f"table {table.name} has no primary key, unique constraint or unique index", table.origin),)
    return tuple(key_evidence(k) for k in table.keys)


def elements_sql(key: UniqueKey) -> str:
    return ", ".join(e.text for e in key.elements)
