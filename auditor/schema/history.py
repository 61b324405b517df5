"""The schema as it was at one migration: for writes inside migration files.

A data migration (a Django RunPython function, an Alembic revision's `op.execute(...)`) runs
against the tables of its own point in the history, not the final ones: a table dropped by a
later migration still exists there, and a key added later does not exist yet. The migration
readers' DDL, in the order it is applied, is the history; the catalog at a migration file is
that DDL applied up to the end of the file's own statements (a write runs after the DDL of
the migration it is in, as a RunPython placed after its schema operations does).

Built only for the migration files that hold write sites, in one pass over the history with a
copy of the catalog taken at each of them.
"""

from __future__ import annotations

import copy

from auditor.model import Catalog
from auditor.schema.source import DdlStatement


class SchemaHistory:
    def __init__(self, statements: list[DdlStatement], dialect: str):
        self.statements, self.dialect = statements, dialect
        self.last: dict[str, int] = {}  # file -> index of its last statement
        for index, statement in enumerate(statements):
            self.last[statement.path] = index

    def __contains__(self, path: str) -> bool:
        return path in self.last

    def catalogs_at(self, paths: set[str]) -> dict[str, Catalog]:
        """The catalog after each of these migration files (files not in the history: none)."""
        from auditor.schema.ddl import apply_sql

        wanted = sorted((self.last[p], p) for p in paths if p in self.last)
        catalogs: dict[str, Catalog] = {}
        if not wanted:
            return catalogs
        catalog = Catalog(dialect=self.dialect)
        position = 0
        for end, path in wanted:
            for statement in self.statements[position : end + 1]:
                apply_sql(catalog, statement.sql, statement.path, statement.line)
            position = end + 1
            snapshot = Catalog(self.dialect, copy.deepcopy(catalog.tables))
            snapshot.link_children()
            catalogs[path] = snapshot
        return catalogs
