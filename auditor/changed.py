"""Changed-files mode (the pre-commit hook): audit the whole project, report what the change touches.

The schema is always read whole, because a write site in one file is checked
against keys defined in others. Reported: findings in the changed Python files,
plus findings anywhere on a table that a changed schema file mentions (a
migration that drops a key breaks upserts in files nobody touched).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlglot import exp

from auditor.findings import Finding
from auditor.model import Catalog, TableName
from auditor.schema.ddl import table_name
from auditor.schema.statements import parse_statement, split_statements


@dataclass(frozen=True)
class ChangedFiles:
    python: frozenset[str]  # relative to the project root
    schema: frozenset[str]

    @property
    def all(self) -> frozenset[str]:
        return self.python | self.schema


def classify(paths: list[Path], root: Path) -> ChangedFiles:
    relative = []
    for path in paths:
        try:
            relative.append(path.resolve().relative_to(root).as_posix())
        except ValueError:
            continue  # outside the project: nothing of ours to report there
    return ChangedFiles(
        python=frozenset(p for p in relative if p.endswith(".py")),
        schema=frozenset(p for p in relative if p.endswith(".sql")),
    )


def tables_mentioned(sql: str, dialect: str) -> set[TableName] | None:
    """Every table a schema file names; None if we cannot tell (then every table counts)."""
    statements, error = split_statements(sql, dialect)
    if error is not None:
        return None
    names: set[TableName] = set()
    for statement in statements:
        parsed = parse_statement(statement, dialect)
        if parsed.tree is None or isinstance(parsed.tree, exp.Command):
            return None
        if isinstance(parsed.tree, exp.Drop) and (parsed.tree.args.get("kind") or "").upper() == "INDEX":
            return None  # DROP INDEX names the index, not its table
        names.update(table_name(t, dialect) for t in parsed.tree.find_all(exp.Table))
    return names


def affected_tables(changed: ChangedFiles, root: Path, catalog: Catalog) -> set[str] | None:
    """str(TableName) of every table the changed schema files touch; None = all of them."""
    touched: set[str] = set()
    for path in changed.schema:
        try:
            names = tables_mentioned((root / path).read_text(encoding="utf-8"), catalog.dialect)
        except (OSError, UnicodeDecodeError):
            return None
        if names is None:
            return None
        touched.update(str(t.name) for t in map(catalog.lookup, names) if t is not None)
        touched.update(str(n) for n in names)
    return touched


def python_schema_tables(changed: ChangedFiles, migration_files: set[str], model_tables: dict[str, set[str]]) -> set[str] | None:
    """Tables that changed Python models or migrations touch; None = all of them (a
    migration may drop a key, which leaves no trace in the catalog to follow)."""
    touched: set[str] = set()
    for path in changed.python:
        if path in migration_files:
            return None
        touched |= model_tables.get(path, set())
    return touched


def relevant(findings: list[Finding], changed: ChangedFiles, root: Path, catalog: Catalog, python_tables: set[str] | None = frozenset()) -> list[Finding]:
    """Findings in the changed Python files, and findings on tables a changed schema file
    (SQL, or Python models / migrations: `python_tables`) touches."""
    tables = affected_tables(changed, root, catalog) if changed.schema else set()
    if tables is not None:
        tables = None if python_tables is None else tables | python_tables
    return [
        f for f in findings
        if f.location.path in changed.python or (tables is None or f.table in tables)
    ]
