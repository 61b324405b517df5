"""What every schema reader produces: DDL, in the order the database would see it.

SQL DDL is the one language all schema sources are translated into. An Alembic
`op.create_unique_constraint("uq", "t", ["a"])`, a SQLAlchemy `UniqueConstraint`,
a Django `unique_together` and a peewee `unique=True` all become the statement
the framework would emit, with the file and line it came from; the SQL reader
(`auditor.schema.ddl`) then applies them with the database's own rules
(identifier folding, default key names, what a DROP removes). One set of
catalog semantics, tested against the live databases once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from auditor.dialects import MYSQL
from auditor.model import Catalog, Diagnostic


@dataclass(frozen=True)
class DdlStatement:
    sql: str  # one or more statements, in the catalog's dialect
    path: str  # project-relative POSIX path of the Python (or SQL) file it came from
    line: int  # 1-based line of the call or definition that produced it


@dataclass
class SchemaSource:
    """One reader's output. Migrations describe what the database has; models describe
    what the code expects, and count only for tables no migration defines."""

    kind: str  # "alembic migrations", "django migrations", "sqlalchemy models", ...
    is_migration: bool
    statements: list[DdlStatement] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # files read, in the order applied
    diagnostics: list[Diagnostic] = field(default_factory=list)
    # Python names code uses for a table (a model class, a Table variable) -> its quoted SQL name
    table_names: dict[str, str] = field(default_factory=dict)
    column_names: dict[str, str] = field(default_factory=dict)  # "Model.field" -> its quoted SQL column
    # Django reverse accessors: related name -> [(child model, its relation field)]
    related_names: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    def emit(self, sql: str, path: str, line: int) -> None:
        self.statements.append(DdlStatement(sql, path, line))


def quote(name: str, dialect: str) -> str:
    """An identifier exactly as written (frameworks quote every name they emit)."""
    if dialect == MYSQL:
        return "`" + name.replace("`", "``") + "`"
    return '"' + name.replace('"', '""') + '"'


def quote_table(name: str, schema: str | None, dialect: str) -> str:
    return f"{quote(schema, dialect)}.{quote(name, dialect)}" if schema else quote(name, dialect)


def apply_source(catalog: Catalog, source: SchemaSource) -> None:
    """Apply a reader's statements to `catalog`, in order; keep its diagnostics."""
    from auditor.schema.ddl import apply_sql

    for statement in source.statements:
        apply_sql(catalog, statement.sql, statement.path, statement.line)
    catalog.sources.extend(f for f in source.files if f not in catalog.sources)
    catalog.diagnostics.extend(source.diagnostics)


def catalog_from_source(source: SchemaSource, dialect: str) -> Catalog:
    catalog = Catalog(dialect=dialect)
    apply_source(catalog, source)
    return catalog
