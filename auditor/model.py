"""The records every stage shares: where things are, the schema catalog, diagnostics.

Extractors build these, rules read them; nothing here parses or prints.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


@dataclass(frozen=True, order=True)
class Location:
    """A place in a project file. `path` is POSIX and relative to the project root; 1-based."""

    path: str
    line: int
    column: int = 1

    def __str__(self) -> str:
        if self.path == LIVE_DATABASE:
            return "the live database"
        return f"{self.path}:{self.line}:{self.column}"


LIVE_DATABASE = "<live database>"  # Location.path of facts read from a running database


@dataclass(frozen=True, order=True)
class TableName:
    """A table's identity after identifier folding. `schema` is None only for MySQL."""

    schema: str | None
    name: str

    def __str__(self) -> str:
        return f"{self.schema}.{self.name}" if self.schema else self.name


@dataclass(frozen=True)
class KeyElement:
    """One element of a unique key or conflict target: a column, or an expression.

    `text` is the canonical form used for comparison (see auditor.sql.normalize):
    a folded column name, or canonical SQL of the expression. `columns` lists the
    columns the element reads (for an expression such as lower(email): ("email",)).
    """

    text: str
    is_expression: bool = False
    columns: tuple[str, ...] = ()

    @classmethod
    def column(cls, name: str) -> "KeyElement":
        return cls(text=name, is_expression=False, columns=(name,))

    def __str__(self) -> str:
        return self.text


class KeyKind(enum.Enum):
    PRIMARY = "primary key"
    UNIQUE_CONSTRAINT = "unique constraint"
    UNIQUE_INDEX = "unique index"
    EXCLUSION = "exclusion constraint"

    @property
    def is_constraint(self) -> bool:
        """PostgreSQL: can `ON CONFLICT ON CONSTRAINT` name it? (pg_constraint p/u/x)"""
        return self is not KeyKind.UNIQUE_INDEX


@dataclass(frozen=True)
class UniqueKey:
    """A primary key, unique constraint, unique index or exclusion constraint."""

    kind: KeyKind
    name: str | None
    elements: tuple[KeyElement, ...]
    origin: Location
    include: tuple[str, ...] = ()  # INCLUDE columns: stored, not part of the key
    predicate: str | None = None  # canonical SQL of a partial index's WHERE
    nulls_not_distinct: bool = False
    deferrable: bool = False
    initially_deferred: bool = False
    valid: bool = True  # False only for an INVALID index seen in a live database

    @property
    def element_set(self) -> frozenset[str]:
        return frozenset(e.text for e in self.elements)

    @property
    def column_set(self) -> frozenset[str]:
        """Every column the key's elements read (an expression element may read several)."""
        return frozenset(c for e in self.elements for c in e.columns)

    @property
    def has_expression(self) -> bool:
        return any(e.is_expression for e in self.elements)

    def describe(self) -> str:
        """Human form, e.g. `unique index users_email_key (lower(email)) WHERE deleted_at IS NULL`."""
        parts = [self.kind.value]
        if self.name:
            parts.append(self.name)
        parts.append("(" + ", ".join(e.text for e in self.elements) + ")")
        if self.include:
            parts.append("INCLUDE (" + ", ".join(self.include) + ")")
        if self.nulls_not_distinct:
            parts.append("NULLS NOT DISTINCT")
        if self.predicate:
            parts.append(f"WHERE {self.predicate}")
        if self.deferrable:
            parts.append("DEFERRABLE" + (" INITIALLY DEFERRED" if self.initially_deferred else ""))
        if not self.valid:
            parts.append("(INVALID)")
        return " ".join(parts)


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    nullable: bool
    origin: Location
    # The database's DEFAULT as SQL, what an INSERT that omits the column stores; None when
    # no source said (read from SQL DDL and live PostgreSQL; not from ORM models yet).
    default: str | None = None


@dataclass(frozen=True)
class ForeignKey:
    """`columns` of one table reference `referenced_columns` of `references` (() means its
    primary key). Migrations that remove duplicate rows re-point these first."""

    columns: tuple[str, ...]
    references: TableName
    referenced_columns: tuple[str, ...]
    origin: Location
    name: str | None = None  # as the database names it (None: SQLite, which names none)

    def describe(self) -> str:
        """`foreign key t_a_fkey (a) -> public.parents (id)`; `()` for the parent's primary key."""
        name = f" {self.name}" if self.name else ""
        referenced = f" ({', '.join(self.referenced_columns)})" if self.referenced_columns else " (its primary key)"
        return f"foreign key{name} ({', '.join(self.columns)}) -> {self.references}{referenced}"


@dataclass
class Table:
    """A table as the schema sources describe it after every statement was applied."""

    name: TableName
    origin: Location
    columns: dict[str, Column] = field(default_factory=dict)
    keys: list[UniqueKey] = field(default_factory=list)
    foreign_keys: list[ForeignKey] = field(default_factory=list)
    # Foreign keys of other tables that point at this one, as (child table, its foreign key);
    # filled by Catalog.link_children() once every source is read.
    referenced_by: list[tuple[TableName, ForeignKey]] = field(default_factory=list)

    def key_named(self, name: str) -> UniqueKey | None:
        return next((k for k in self.keys if k.name == name), None)

    @property
    def unique_keys(self) -> list[UniqueKey]:
        """Keys that can arbitrate a conflict by inference (not exclusion constraints)."""
        return [k for k in self.keys if k.kind is not KeyKind.EXCLUSION]


class Severity(enum.IntEnum):
    INFO = 1
    WARNING = 2
    ERROR = 3

    def __str__(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class Diagnostic:
    """Something the tool could not read or decide: never silent, never a crash."""

    path: str
    message: str
    line: int | None = None
    kind: str = "error"  # syntax-error, decode-error, sql-parse-error, unsupported-ddl, ...

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.kind}: {self.message}"


@dataclass
class Catalog:
    """Every table the schema sources define, keyed by folded name."""

    dialect: str
    tables: dict[TableName, Table] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)  # files (or URLs) read, in the order applied
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def link_children(self) -> None:
        """Record on each table the foreign keys that reference it (a REPLACE that deletes a
        row there reaches those children)."""
        for table in self.tables.values():
            table.referenced_by = []
        for table in self.tables.values():
            for fk in table.foreign_keys:
                parent = self.lookup(fk.references)
                if parent is not None:
                    parent.referenced_by.append((table.name, fk))

    def lookup(self, name: TableName) -> Table | None:
        """Find a table as a statement names it. An unqualified name (schema None)
        matches the dialect's default schema, and if that fails a table of that name
        in any schema when exactly one exists (we do not know the search_path)."""
        if name in self.tables:
            return self.tables[name]
        if name.schema is None:
            from auditor.dialects import DEFAULT_SCHEMA

            default = TableName(DEFAULT_SCHEMA.get(self.dialect), name.name)
            if default in self.tables:
                return self.tables[default]
            same_name = [t for n, t in self.tables.items() if n.name == name.name]
            if len(same_name) == 1:
                return same_name[0]
        return None
