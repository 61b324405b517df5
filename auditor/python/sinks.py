"""User-declared sinks: a project's own wrappers around its driver, as write sites.

    [[tool.upsert-audit.sinks]]
    call = "db.run"            # matches db.run(...), self.db.run(...)
    sql-argument = 0           # this argument is SQL

    [[tool.upsert-audit.sinks]]
    call = "simple_upsert"     # self.db_pool.simple_upsert(table, keyvalues, values)
    table-argument = 0
    key-argument = 1           # dict (its keys) or list of column names: the conflict target
    values-argument = 2        # optional: columns to update; without it, DO NOTHING

A structured sink becomes the INSERT ... ON CONFLICT it performs, written out as
SQL, so the same statement parser and rules check it.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from auditor.python.neutral_sql import column_list, insert_sql, on_conflict_sql


@dataclass(frozen=True)
class Sink:
    call: str  # dotted suffix of the called expression
    sql_argument: int | None = None
    table_argument: int | None = None
    key_argument: int | None = None
    values_argument: int | None = None

    @property
    def name(self) -> str:
        return self.call.rsplit(".", 1)[-1]

    @property
    def structured(self) -> bool:
        return self.sql_argument is None

    def matches(self, dotted: str) -> bool:
        return dotted == self.call or dotted.endswith("." + self.call)


def dotted_name(node: ast.AST) -> str | None:
    """`self.db.run` for the func of `self.db.run(...)`; None for calls on calls etc."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def upsert_sql(table: str, keys: list[str], values: list[str]) -> str:
    """The statement a structured sink performs, as SQL for the parser."""
    updates = [v for v in values if v not in keys]
    return insert_sql(table, keys + updates) + on_conflict_sql(column_list(keys), updates)


def name_pattern(sinks: tuple[Sink, ...]) -> str:
    """Regex alternation of the sinks' call names (for the pre-filter and hit lines)."""
    return "|".join(re.escape(s.name) for s in sinks)
