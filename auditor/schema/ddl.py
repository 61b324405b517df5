"""Apply DDL statements to a Catalog, in order, the way the database would.

One function per statement shape; each takes the parsed sqlglot tree and the
statement's place in its file and changes the catalog. Names of unnamed keys
follow PostgreSQL's defaults (`<table>_pkey`, `<table>_<cols>_key`,
`<table>_<cols>_excl`, `<table>_<cols>_idx`, with a number appended on a clash);
PostgreSQL's truncation of names longer than 63 bytes is not replicated.
SQLite and MySQL name their implicit keys differently; there unnamed
constraints keep no name (SQLite ignores constraint names on UNIQUE / PRIMARY KEY).

Where sqlglot 30 keeps a statement we need as an opaque Command (`CREATE UNIQUE
INDEX ... NULLS NOT DISTINCT`, `ALTER TABLE ... ADD CONSTRAINT ... USING INDEX`,
`ALTER INDEX ... RENAME TO`, `ALTER TABLE ... RENAME CONSTRAINT`), a small
fallback below reads it. A statement that may change keys but that we cannot
read becomes an "unsupported-ddl" diagnostic, never a silent gap.
"""

from __future__ import annotations

import re
from dataclasses import replace

from sqlglot import exp

from auditor.dialects import DEFAULT_SCHEMA, MYSQL, POSTGRES, SQLITE
from auditor.key_names import postgres_object_name
from auditor.model import Catalog, Column, Diagnostic, ForeignKey, KeyElement, KeyKind, Location, Table, TableName, UniqueKey
from auditor.schema.statements import ParsedStatement, Statement, parse_statement, split_statements
from auditor.sql.normalize import identifier_name, key_element, predicate_text


class _Context:
    """Where the statement being applied came from."""

    def __init__(self, catalog: Catalog, path: str, statement: Statement):
        self.catalog = catalog
        self.path = path
        self.statement = statement
        self.dialect = catalog.dialect

    def location(self, node: exp.Expression | None = None) -> Location:
        """The statement's line, or better, the line of `node`'s first identifier."""
        line = self.statement.line
        if node is not None:
            ident = node if isinstance(node, exp.Identifier) else node.find(exp.Identifier)
            if ident is not None and ident.meta.get("line"):
                line = self.statement.line + ident.meta["line"] - 1
        return Location(self.path, line)

    def diagnose(self, message: str, kind: str = "unsupported-ddl") -> None:
        self.catalog.diagnostics.append(Diagnostic(self.path, message, self.statement.line, kind))


# --- names -----------------------------------------------------------------


def table_name(node: exp.Table, dialect: str) -> TableName:
    schema = identifier_name(node.args.get("db"), dialect) if node.args.get("db") else DEFAULT_SCHEMA.get(dialect)
    return TableName(schema, identifier_name(node.this, dialect))


def _all_key_names(catalog: Catalog, schema: str | None) -> set[str]:
    """Names of the schema's keys and foreign keys: PostgreSQL keeps them apart by name."""
    tables = [t for n, t in catalog.tables.items() if n.schema == schema]
    return {k.name for t in tables for k in t.keys if k.name} | {f.name for t in tables for f in t.foreign_keys if f.name}


def mysql_key_name(ctx: _Context, table: TableName, columns: list[str], suffix: str) -> str:
    """MySQL/MariaDB: the primary key is PRIMARY; an unnamed unique key takes its first
    column's name, then `_2`, `_3`... on a clash (names are per table)."""
    if suffix == "pkey":
        return "PRIMARY"
    existing = ctx.catalog.tables.get(table)
    taken = {k.name for k in existing.keys} if existing else set()
    base = columns[0] if columns else "key"
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}_{n}"
    return name


def default_key_name(ctx: _Context, table: TableName, columns: list[str], suffix: str) -> str | None:
    """PostgreSQL's name for an unnamed key, made unique in the schema like PostgreSQL does."""
    if ctx.dialect == MYSQL:
        return mysql_key_name(ctx, table, columns, suffix)
    if ctx.dialect != POSTGRES:
        return None
    columns = [] if suffix == "pkey" else columns
    taken = _all_key_names(ctx.catalog, table.schema)
    name, n = postgres_object_name(table.name, columns, suffix), 0
    while name in taken:
        n += 1
        name = postgres_object_name(table.name, columns, f"{suffix}{n}")
    return name


def default_foreign_key_name(ctx: _Context, table: TableName, columns: list[str]) -> str | None:
    """The name a database gives an unnamed foreign key: PostgreSQL `<table>_<cols>_fkey`
    (made unique like a key's), InnoDB `<table>_ibfk_<n>` (one more than the table's highest);
    SQLite names none."""
    if ctx.dialect == POSTGRES:
        return default_key_name(ctx, table, columns, "fkey")
    if ctx.dialect != MYSQL:
        return None
    existing = ctx.catalog.tables.get(table)
    prefix = f"{table.name}_ibfk_"
    numbers = [int(f.name[len(prefix):]) for f in (existing.foreign_keys if existing else []) if f.name and f.name.startswith(prefix) and f.name[len(prefix):].isdigit()]
    return f"{prefix}{max(numbers, default=0) + 1}"


# --- key construction --------------------------------------------------------


def _deferral(node: exp.Expression) -> tuple[bool, bool]:
    options = " ".join(str(o) for o in node.args.get("options") or []).upper()
    deferrable = "DEFERRABLE" in options and "NOT DEFERRABLE" not in options
    return deferrable, deferrable and "INITIALLY DEFERRED" in options


def _column_names(nodes: list[exp.Expression], dialect: str) -> list[str]:
    return [identifier_name(n.this if isinstance(n, exp.Ordered) else n, dialect) for n in nodes]


def _key_elements(nodes: list[exp.Expression], dialect: str) -> tuple[KeyElement, ...]:
    """Key columns; a MySQL prefix `name(20)` is an element of its own (it compares 20 characters)."""
    elements = []
    for node in nodes:
        node = node.this if isinstance(node, exp.Ordered) else node
        if isinstance(node, exp.ColumnPrefix):
            column = identifier_name(node.this, dialect)
            elements.append(KeyElement(f"{column}({node.expression.name})", True, (column,)))
        else:
            elements.append(KeyElement.column(identifier_name(node, dialect)))
    return tuple(elements)


def _include(node: exp.Expression | None, dialect: str) -> tuple[str, ...]:
    params = node.args.get("include") if node is not None else None
    if isinstance(params, exp.IndexParameters):
        return tuple(_column_names(params.args.get("include") or [], dialect))
    return ()


def _make_key(
    ctx: _Context, table: TableName, kind: KeyKind, name: str | None, columns: list[str], node: exp.Expression,
    elements: tuple[KeyElement, ...] | None = None, **flags,
) -> UniqueKey:
    suffix = {KeyKind.PRIMARY: "pkey", KeyKind.UNIQUE_CONSTRAINT: "key", KeyKind.EXCLUSION: "excl"}[kind]
    if ctx.dialect == SQLITE:
        name = None  # SQLite ignores constraint names: its keys are sqlite_autoindex_*
    if ctx.dialect == MYSQL and kind is KeyKind.PRIMARY:
        name = "PRIMARY"  # MySQL ignores a primary key's name
    return UniqueKey(
        kind=kind,
        name=name or default_key_name(ctx, table, columns, suffix),
        elements=elements or tuple(KeyElement.column(c) for c in columns),
        origin=ctx.location(node),
        **flags,
    )


def constraint_key(ctx: _Context, table: TableName, node: exp.Expression, name: str | None) -> UniqueKey | None:
    """A table-level PRIMARY KEY / UNIQUE / EXCLUDE clause, or None for other constraints."""
    d = ctx.dialect
    if isinstance(node, exp.PrimaryKey):
        deferrable, deferred = _deferral(node)
        return _make_key(
            ctx, table, KeyKind.PRIMARY, name, _column_names(node.expressions, d), node,
            include=_include(node, d), deferrable=deferrable, initially_deferred=deferred,
        )
    if isinstance(node, exp.UniqueColumnConstraint) and isinstance(node.this, exp.Schema):
        deferrable, deferred = _deferral(node)
        if name is None and isinstance(node.this.this, exp.Identifier):  # MySQL: UNIQUE KEY name (...)
            name = identifier_name(node.this.this, d)
        elements = _key_elements(node.this.expressions, d)
        return _make_key(
            ctx, table, KeyKind.UNIQUE_CONSTRAINT, name, [e.columns[0] for e in elements], node, elements,
            include=_include(node, d), nulls_not_distinct=bool(node.args.get("nulls")),
            deferrable=deferrable, initially_deferred=deferred,
        )
    if isinstance(node, exp.ExcludeColumnConstraint):
        params = node.this
        columns = []
        for element in params.args.get("columns") or []:
            inner = element.this if isinstance(element, exp.WithOperator) else element
            columns.append(key_element(inner, d).text)
        deferrable, deferred = _deferral(node)
        return _make_key(ctx, table, KeyKind.EXCLUSION, name, columns, node, deferrable=deferrable, initially_deferred=deferred)
    return None


def column_keys(ctx: _Context, table: TableName, column: exp.ColumnDef) -> list[UniqueKey]:
    """Keys declared inline on a column: `id int PRIMARY KEY`, `email text UNIQUE`."""
    name = identifier_name(column.this, ctx.dialect)
    keys = []
    for constraint in column.args.get("constraints") or []:
        kind = constraint.args.get("kind")
        constraint_name = identifier_name(constraint.this, ctx.dialect) if constraint.this else None
        if isinstance(kind, exp.PrimaryKeyColumnConstraint):
            deferrable, deferred = _deferral(kind)
            keys.append(
                _make_key(ctx, table, KeyKind.PRIMARY, constraint_name, [name], column, deferrable=deferrable, initially_deferred=deferred)
            )
        elif isinstance(kind, exp.UniqueColumnConstraint):
            deferrable, deferred = _deferral(kind)
            keys.append(
                _make_key(
                    ctx, table, KeyKind.UNIQUE_CONSTRAINT, constraint_name, [name], column,
                    nulls_not_distinct=bool(kind.args.get("nulls")), deferrable=deferrable, initially_deferred=deferred,
                )
            )
    return keys


def column_record(ctx: _Context, column: exp.ColumnDef) -> Column:
    kinds = [c.args.get("kind") for c in column.args.get("constraints") or []]
    not_null = any(isinstance(k, (exp.NotNullColumnConstraint, exp.PrimaryKeyColumnConstraint)) and not k.args.get("allow_null") for k in kinds)
    type_sql = column.args["kind"].sql(dialect="postgres") if column.args.get("kind") else ""
    default = next((k.this.sql(dialect="postgres") for k in kinds if isinstance(k, exp.DefaultColumnConstraint) and k.this is not None), None)
    return Column(identifier_name(column.this, ctx.dialect), type_sql, not not_null, ctx.location(column), default)


# --- statements --------------------------------------------------------------


def _add_key(ctx: _Context, table: Table, key: UniqueKey) -> None:
    if ctx.dialect == SQLITE and any(k.elements == key.elements and k.kind.is_constraint for k in table.keys):
        return  # SQLite creates no second index for a constraint that repeats an existing one
    table.keys.append(key)
    if key.kind is KeyKind.PRIMARY:  # a primary key makes its columns NOT NULL
        for element in key.elements:
            column = table.columns.get(element.text)
            if column is not None:
                table.columns[element.text] = replace(column, nullable=False)


def foreign_key(ctx: _Context, table: Table, columns: list[str], reference: exp.Reference, name: str | None) -> ForeignKey | None:
    target = reference.this
    if isinstance(target, exp.Schema) and isinstance(target.this, exp.Table):
        references, referenced = table_name(target.this, ctx.dialect), tuple(identifier_name(c, ctx.dialect) for c in target.expressions)
    elif isinstance(target, exp.Table):
        references, referenced = table_name(target, ctx.dialect), ()
    else:
        return None
    name = name or default_foreign_key_name(ctx, table.name, columns)
    return ForeignKey(tuple(columns), references, referenced, ctx.location(reference), name)


def _add_foreign_key(ctx: _Context, table: Table, node: exp.Expression, name: str | None = None) -> None:
    """A table-level [CONSTRAINT name] FOREIGN KEY (...) REFERENCES t (...)."""
    reference = node.args.get("reference")
    if isinstance(node, exp.ForeignKey) and isinstance(reference, exp.Reference):
        found = foreign_key(ctx, table, [identifier_name(c, ctx.dialect) for c in node.expressions], reference, name)
        if found:
            table.foreign_keys.append(found)


def _add_column(ctx: _Context, table: Table, column: exp.ColumnDef) -> None:
    record = column_record(ctx, column)
    table.columns[record.name] = record
    for key in column_keys(ctx, table.name, column):
        _add_key(ctx, table, key)
    for constraint in column.args.get("constraints") or []:
        if isinstance(constraint.args.get("kind"), exp.Reference):
            name = identifier_name(constraint.this, ctx.dialect) if constraint.this else None
            found = foreign_key(ctx, table, [record.name], constraint.args["kind"], name)
            if found:
                table.foreign_keys.append(found)


def apply_create_table(ctx: _Context, tree: exp.Create) -> None:
    schema = tree.this
    if not isinstance(schema, exp.Schema):  # CREATE TABLE ... AS SELECT: no keys
        if isinstance(schema, exp.Table):
            name = table_name(schema, ctx.dialect)
            ctx.catalog.tables.setdefault(name, Table(name, ctx.location(schema)))
        return
    name = table_name(schema.this, ctx.dialect)
    if name in ctx.catalog.tables and tree.args.get("exists"):
        return  # CREATE TABLE IF NOT EXISTS on an existing table does nothing
    table = Table(name, ctx.location(schema.this))
    ctx.catalog.tables[name] = table
    for item in schema.expressions:
        if isinstance(item, exp.ColumnDef):
            _add_column(ctx, table, item)
        elif isinstance(item, exp.Constraint):
            constraint_name = identifier_name(item.this, ctx.dialect)
            for inner in item.expressions:
                key = constraint_key(ctx, name, inner, constraint_name)
                if key:
                    _add_key(ctx, table, key)
                _add_foreign_key(ctx, table, inner, constraint_name)
        else:
            key = constraint_key(ctx, name, item, None)
            if key:
                _add_key(ctx, table, key)
            _add_foreign_key(ctx, table, item)


def _index_key(ctx: _Context, index: exp.Index, table: TableName, nulls_not_distinct: bool) -> UniqueKey:
    params = index.args.get("params") or exp.IndexParameters()
    elements = tuple(key_element(c, ctx.dialect) for c in params.args.get("columns") or [])
    name = identifier_name(index.this, ctx.dialect) if index.this else None
    if name is None and ctx.dialect == POSTGRES:
        name = default_key_name(ctx, table, [e.columns[0] if e.columns else "expr" for e in elements], "idx")
    return UniqueKey(
        # MySQL keeps no difference between a unique index and a unique constraint.
        kind=KeyKind.UNIQUE_CONSTRAINT if ctx.dialect == MYSQL else KeyKind.UNIQUE_INDEX,
        name=name,
        elements=elements,
        origin=ctx.location(index),
        include=tuple(_column_names(params.args.get("include") or [], ctx.dialect)),
        predicate=predicate_text(params.args.get("where"), ctx.dialect),
        nulls_not_distinct=nulls_not_distinct,
    )


def apply_create_index(ctx: _Context, tree: exp.Create, nulls_not_distinct: bool = False) -> None:
    if not tree.args.get("unique"):
        return  # only unique indexes can arbitrate conflicts
    index = tree.this
    name = table_name(index.args["table"], ctx.dialect)
    table = ctx.catalog.lookup(name)
    if table is None:
        ctx.diagnose(f"CREATE UNIQUE INDEX on unknown table {name}", "unknown-table")
        return
    key = _index_key(ctx, index, table.name, nulls_not_distinct)
    if key.name and tree.args.get("exists") and key.name in _all_key_names(ctx.catalog, table.name.schema):
        return
    table.keys.append(key)


def _drop_keys(table: Table, predicate) -> None:
    table.keys = [k for k in table.keys if not predicate(k)]


def apply_alter_table(ctx: _Context, tree: exp.Alter) -> None:
    name = table_name(tree.this, ctx.dialect)
    table = ctx.catalog.lookup(name)
    if table is None:
        if not tree.args.get("exists"):
            ctx.diagnose(f"ALTER TABLE on unknown table {name}", "unknown-table")
        return
    for action in tree.args.get("actions") or []:
        apply_alter_action(ctx, table, action)


def apply_alter_action(ctx: _Context, table: Table, action: exp.Expression) -> None:
    d = ctx.dialect
    if isinstance(action, exp.AddConstraint):
        for item in action.expressions:
            if isinstance(item, exp.Constraint):
                constraint_name = identifier_name(item.this, d)
                for inner in item.expressions:
                    key = constraint_key(ctx, table.name, inner, constraint_name)
                    if key:
                        _add_key(ctx, table, key)
                    _add_foreign_key(ctx, table, inner, constraint_name)
            else:
                key = constraint_key(ctx, table.name, item, None)
                if key:
                    _add_key(ctx, table, key)
                _add_foreign_key(ctx, table, item)
    elif isinstance(action, exp.ColumnDef):
        _add_column(ctx, table, action)
    elif isinstance(action, exp.Drop):
        kind = (action.args.get("kind") or "").upper()
        names = [identifier_name(t.this if isinstance(t, exp.Table) else t, d) for t in action.args.get("tables") or []]
        if kind == "CONSTRAINT":
            _drop_keys(table, lambda k: k.name in names and k.kind.is_constraint)
            table.foreign_keys = [f for f in table.foreign_keys if f.name not in names]
        elif kind == "FOREIGN KEY":  # MySQL: ALTER TABLE ... DROP FOREIGN KEY name
            table.foreign_keys = [f for f in table.foreign_keys if f.name not in names]
        elif kind == "INDEX":  # MySQL: ALTER TABLE ... DROP INDEX / DROP KEY name
            _drop_keys(table, lambda k: k.name in names)
        elif kind == "COLUMN":  # dropping a column drops every key that uses it
            for column in names:
                table.columns.pop(column, None)
                _drop_keys(table, lambda k, c=column: any(c in e.columns for e in k.elements))
                table.foreign_keys = [f for f in table.foreign_keys if column not in f.columns]
    elif isinstance(action, exp.DropPrimaryKey):
        _drop_keys(table, lambda k: k.kind is KeyKind.PRIMARY)
    elif isinstance(action, exp.RenameIndex):
        old, new = identifier_name(action.this, d), identifier_name(action.args["to"], d)
        table.keys = [replace(k, name=new) if k.name == old else k for k in table.keys]
    elif isinstance(action, exp.ModifyColumn):  # MySQL MODIFY / CHANGE [old] new ...
        apply_modify_column(ctx, table, action)
    elif isinstance(action, exp.AlterColumn) and action.args.get("allow_null") is not None:
        column_name = identifier_name(action.this, d)
        column = table.columns.get(column_name)
        if column:
            table.columns[column_name] = replace(column, nullable=bool(action.args["allow_null"]))
    elif isinstance(action, exp.AlterColumn) and (action.args.get("default") is not None or action.args.get("drop")):
        column_name = identifier_name(action.this, d)  # SET DEFAULT x / DROP DEFAULT
        column = table.columns.get(column_name)
        if column:
            default = action.args.get("default")
            table.columns[column_name] = replace(column, default=default.sql(dialect="postgres") if default is not None else None)
    elif isinstance(action, exp.AlterRename):
        rename_table(ctx, table, TableName(table.name.schema, identifier_name(action.this.this, d)))
    elif isinstance(action, exp.RenameColumn):
        old, new = identifier_name(action.this, d), identifier_name(action.args["to"], d)
        if old in table.columns:
            table.columns[new] = replace(table.columns.pop(old), name=new)
        _rename_column_in_keys(ctx, table, old, new)


def rename_table(ctx: _Context, table: Table, new: TableName) -> None:
    """The table and every foreign key that references it take the new name; InnoDB renames
    the table's own generated `<table>_ibfk_<n>` names with it."""
    for other in ctx.catalog.tables.values():
        other.foreign_keys = [replace(f, references=new) if ctx.catalog.lookup(f.references) is table else f for f in other.foreign_keys]
    if ctx.dialect == MYSQL:
        old_prefix = f"{table.name.name}_ibfk_"
        table.foreign_keys = [
            replace(f, name=f"{new.name}_ibfk_{f.name[len(old_prefix):]}") if f.name and f.name.startswith(old_prefix) else f
            for f in table.foreign_keys
        ]
    del ctx.catalog.tables[table.name]
    table.name = new
    ctx.catalog.tables[new] = table


def _rename_column_in_keys(ctx: _Context, table: Table, old: str, new: str) -> None:
    """Keys and foreign keys follow a renamed column, those of other tables that reference it too."""
    table.keys = [_rename_column_in_key(k, old, new) for k in table.keys]
    rename = lambda columns: tuple(new if c == old else c for c in columns)  # noqa: E731
    table.foreign_keys = [replace(f, columns=rename(f.columns)) for f in table.foreign_keys]
    for other in ctx.catalog.tables.values():
        other.foreign_keys = [
            replace(f, referenced_columns=rename(f.referenced_columns)) if ctx.catalog.lookup(f.references) is table else f
            for f in other.foreign_keys
        ]


def apply_modify_column(ctx: _Context, table: Table, action: exp.ModifyColumn) -> None:
    column = action.this
    new = identifier_name(column.this, ctx.dialect)
    old = identifier_name(action.args["rename_from"], ctx.dialect) if action.args.get("rename_from") else new
    if old != new:
        table.columns.pop(old, None)
        _rename_column_in_keys(ctx, table, old, new)
    _add_column(ctx, table, column)


def apply_alter_index(ctx: _Context, tree: exp.Alter) -> None:
    """ALTER INDEX old RENAME TO new (renames the constraint too when the index backs one)."""
    for action in tree.args.get("actions") or []:
        if isinstance(action, exp.AlterRename):
            found = _find_key_by_name(ctx, identifier_name(tree.this.this, ctx.dialect))
            if found:
                table, key = found
                table.keys[table.keys.index(key)] = replace(key, name=identifier_name(action.this.this, ctx.dialect))
        else:
            ctx.diagnose(f"ALTER INDEX action not read: {action.sql()[:60]}")


def _rename_column_in_key(key: UniqueKey, old: str, new: str) -> UniqueKey:
    if not any(old in e.columns for e in key.elements):
        return key
    elements = tuple(KeyElement.column(new) if not e.is_expression and e.text == old else e for e in key.elements)
    return replace(key, elements=elements)


def apply_drop(ctx: _Context, tree: exp.Drop) -> None:
    kind = (tree.args.get("kind") or "").upper()
    for node in tree.args.get("tables") or []:
        if kind == "TABLE":
            name = table_name(node, ctx.dialect)
            table = ctx.catalog.lookup(name)
            if table:
                del ctx.catalog.tables[table.name]
        elif kind == "INDEX" and isinstance(tree.args.get("cluster"), exp.OnProperty):  # MySQL: DROP INDEX n ON t
            table = ctx.catalog.lookup(table_name(tree.args["cluster"].this, ctx.dialect))
            index_name = identifier_name(node.this, ctx.dialect)
            if table:
                _drop_keys(table, lambda k: k.name == index_name)
        elif kind == "INDEX":
            index_name = identifier_name(node.this, ctx.dialect)
            schema = identifier_name(node.args.get("db"), ctx.dialect) if node.args.get("db") else None
            for name, table in ctx.catalog.tables.items():
                if schema is None or name.schema == schema:
                    _drop_keys(table, lambda k: k.kind is KeyKind.UNIQUE_INDEX and k.name == index_name)


# --- opaque Command fallbacks ----------------------------------------------------

_NNDISTINCT = re.compile(r"\bNULLS\s+NOT\s+DISTINCT\b", re.I)
# SQLite table options sqlglot 30 does not read; they change no key.
_SQLITE_TABLE_OPTIONS = re.compile(r"\)\s*((?:WITHOUT\s+ROWID|STRICT)\s*,?\s*)+$", re.I)
_USING_INDEX = re.compile(
    r"^ALTER\s+TABLE\s+(?:ONLY\s+)?(?P<table>[\w.\"]+)\s+ADD\s+CONSTRAINT\s+(?P<name>[\w\"]+)\s+"
    r"(?P<kind>UNIQUE|PRIMARY\s+KEY)\s+USING\s+INDEX\s+(?P<index>[\w\"]+)"
    r"(?P<tail>(?:\s+(?:NOT\s+)?DEFERRABLE)?(?:\s+INITIALLY\s+(?:DEFERRED|IMMEDIATE))?)\s*$",
    re.I,
)
_RENAME_TABLE = re.compile(r"^RENAME\s+TABLE\s+(?P<pairs>.+)$", re.I)  # MySQL: RENAME TABLE a TO b[, c TO d]
_RENAME_INDEX = re.compile(r"^ALTER\s+INDEX\s+(?:IF\s+EXISTS\s+)?(?P<old>[\w.\"]+)\s+RENAME\s+TO\s+(?P<new>[\w\"]+)\s*$", re.I)
_RENAME_CONSTRAINT = re.compile(
    r"^ALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?(?P<table>[\w.\"]+)\s+RENAME\s+CONSTRAINT\s+(?P<old>[\w\"]+)\s+TO\s+(?P<new>[\w\"]+)\s*$",
    re.I,
)
# Commands that can change keys; anything else kept opaque (functions, DO blocks
# without DDL, GRANT, ...) does not concern the catalog.
_KEY_DDL = re.compile(r"\b(CREATE\s+(UNIQUE\s+)?INDEX|ALTER\s+(TABLE|INDEX)|CREATE\s+TABLE|DROP\s+(TABLE|INDEX|CONSTRAINT)|UNIQUE|PRIMARY\s+KEY)\b", re.I)


def _plain_name(text: str, ctx: _Context) -> str:
    quoted = text.startswith('"')
    return identifier_name(exp.Identifier(this=text.strip('"'), quoted=quoted), ctx.dialect)


def _qualified(text: str, ctx: _Context) -> TableName:
    parts = text.split(".")
    schema = _plain_name(parts[0], ctx) if len(parts) > 1 else DEFAULT_SCHEMA.get(ctx.dialect)
    return TableName(schema, _plain_name(parts[-1], ctx))


def _find_key_by_name(ctx: _Context, name: str) -> tuple[Table, UniqueKey] | None:
    for table in ctx.catalog.tables.values():
        key = table.key_named(name)
        if key:
            return table, key
    return None


# The idempotent-DDL idiom: DO $tag$ BEGIN IF [NOT] EXISTS (<catalog query>) THEN <ddl>; END IF; END $tag$
_GUARDED = re.compile(
    r"^DO\s+(?P<tag>\$\w*\$)\s*BEGIN\s+IF\s+(?P<negated>NOT\s+)?EXISTS\s*\((?P<condition>.*)\)\s+THEN\s+"
    r"(?P<statement>[^;]+);\s*END\s+IF\s*;\s*END\s*;?\s*(?P=tag)\s*$",
    re.I | re.S,
)


def apply_guarded_block(ctx: _Context, text: str) -> bool:
    """Read a guarded statement: `IF NOT EXISTS (...) THEN <create>` means the object exists
    afterwards, so the statement is applied; `IF EXISTS (... NOT indisvalid) THEN DROP INDEX`
    removes only an INVALID index, which a static catalog never holds. False: not this idiom."""
    match = _GUARDED.match(text.strip())
    if not match:
        return False
    statement = match["statement"].strip()
    if match["negated"]:
        apply_statement(ctx.catalog, ctx.path, parse_statement(Statement(statement, ctx.statement.line), ctx.dialect))
        return True
    return "indisvalid" in match["condition"] and re.match(r"^DROP\s+INDEX\b", statement, re.I) is not None


def apply_command(ctx: _Context, text: str) -> None:
    flat = " ".join(text.split())
    if _NNDISTINCT.search(flat) and re.match(r"^CREATE\s+UNIQUE\s+INDEX\b", flat, re.I):
        reparsed = parse_statement(Statement(_NNDISTINCT.sub("", text), ctx.statement.line), ctx.dialect)
        if isinstance(reparsed.tree, exp.Create):
            apply_create_index(ctx, reparsed.tree, nulls_not_distinct=True)
            return
    if ctx.dialect == SQLITE and re.match(r"^CREATE\s+TABLE\b", flat, re.I) and _SQLITE_TABLE_OPTIONS.search(text.rstrip()):
        reparsed = parse_statement(Statement(_SQLITE_TABLE_OPTIONS.sub(")", text.rstrip()), ctx.statement.line), ctx.dialect)
        if isinstance(reparsed.tree, exp.Create):
            apply_create_table(ctx, reparsed.tree)
            return
    if match := _USING_INDEX.match(flat):
        found = _find_key_by_name(ctx, _plain_name(match["index"], ctx))
        if found:
            table, index = found
            kind = KeyKind.PRIMARY if match["kind"].upper().startswith("PRIMARY") else KeyKind.UNIQUE_CONSTRAINT
            tail = match["tail"].upper()
            deferrable = "DEFERRABLE" in tail and "NOT DEFERRABLE" not in tail
            promoted = replace(
                index, kind=kind, name=_plain_name(match["name"], ctx), origin=ctx.location(),
                deferrable=deferrable, initially_deferred=deferrable and "DEFERRED" in tail,
            )
            table.keys[table.keys.index(index)] = promoted
            return
    if match := _RENAME_TABLE.match(flat):
        for pair in match["pairs"].split(","):
            old, _, new = pair.strip().partition(" ")
            new = new.strip()
            if new.upper().startswith("TO "):
                table = ctx.catalog.lookup(_qualified(old.strip("`"), ctx))
                if table:
                    rename_table(ctx, table, _qualified(new[3:].strip().strip("`"), ctx))
        return
    if match := _RENAME_INDEX.match(flat):
        found = _find_key_by_name(ctx, _plain_name(match["old"].split(".")[-1], ctx))
        if found:
            table, key = found
            table.keys[table.keys.index(key)] = replace(key, name=_plain_name(match["new"], ctx))
        return
    if match := _RENAME_CONSTRAINT.match(flat):
        table = ctx.catalog.lookup(_qualified(match["table"], ctx))
        old, new = _plain_name(match["old"], ctx), _plain_name(match["new"], ctx)
        key = table.key_named(old) if table else None
        if table and key:
            table.keys[table.keys.index(key)] = replace(key, name=new)
        if table:
            table.foreign_keys = [replace(f, name=new) if f.name == old else f for f in table.foreign_keys]
        return
    if flat.upper().startswith("DO ") and _KEY_DDL.search(flat):
        if not apply_guarded_block(ctx, text):
            ctx.diagnose("DDL inside a DO block is not read; its keys are not in the catalog")
        return
    if _KEY_DDL.match(flat) or re.match(r"^(CREATE|ALTER|DROP)\b", flat, re.I) and _KEY_DDL.search(flat):
        ctx.diagnose(f"statement not understood, keys it defines are not in the catalog: {flat[:80]}")


# --- driver ------------------------------------------------------------------


def apply_statement(catalog: Catalog, path: str, parsed: ParsedStatement) -> None:
    ctx = _Context(catalog, path, parsed.statement)
    if parsed.error is not None:
        ctx.diagnose(f"SQL could not be parsed: {parsed.error}", "sql-parse-error")
        return
    tree = parsed.tree
    if isinstance(tree, exp.Create):
        kind = (tree.args.get("kind") or "").upper()
        if kind == "TABLE":
            apply_create_table(ctx, tree)
        elif kind == "INDEX":
            apply_create_index(ctx, tree)
    elif isinstance(tree, exp.Alter) and (tree.args.get("kind") or "").upper() == "TABLE":
        apply_alter_table(ctx, tree)
    elif isinstance(tree, exp.Alter) and (tree.args.get("kind") or "").upper() == "INDEX":
        apply_alter_index(ctx, tree)
    elif isinstance(tree, exp.Drop):
        apply_drop(ctx, tree)
    elif isinstance(tree, exp.Command):
        apply_command(ctx, parsed.statement.text)


def apply_sql(catalog: Catalog, sql: str, path: str, line: int = 1) -> None:
    """Apply every statement of a text to the catalog, in order. `line` is where the
    text starts in `path` (SQL embedded in Python starts mid-file)."""
    statements, error = split_statements(sql, catalog.dialect)
    if error is not None:
        catalog.diagnostics.append(Diagnostic(path, f"SQL could not be tokenised: {error}", line, "sql-parse-error"))
        return
    for statement in statements:
        if line != 1:
            statement = Statement(statement.text, statement.line + line - 1)
        try:
            apply_statement(catalog, path, parse_statement(statement, catalog.dialect))
        except Exception as error:  # noqa: BLE001 - one odd statement must not end the audit
            catalog.diagnostics.append(
                Diagnostic(path, f"statement could not be applied ({type(error).__name__}: {error})", statement.line, "unsupported-ddl")
            )
