"""SQLAlchemy schema constructs read from source (`Column`, `mapped_column`, `UniqueConstraint`,
`PrimaryKeyConstraint`, `Index`, `ForeignKey`, `ForeignKeyConstraint`), and the DDL SQLAlchemy
emits for them.

Shared by the models reader and the Alembic reader, which call the same constructs
(`sa.Column(...)` inside `op.create_table`). What SQLAlchemy does, reproduced:
- a column is NULL-able unless `nullable=False` or `primary_key=True`; a `mapped_column`
  with a `Mapped[X]` annotation is NOT NULL unless X is Optional / `X | None`;
- `unique=True` is an unnamed table-level `UNIQUE (col)`, `unique=True, index=True` a
  unique index named `ix_<table>_<col>` (the default naming convention);
- dialect-specific keywords (`postgresql_where`, `sqlite_where`, ...) count only on their
  own dialect: SQLAlchemy drops them silently elsewhere;
- `MetaData(naming_convention=...)` names what the code leaves unnamed;
- a `ForeignKey` / `ForeignKeyConstraint` is a table-level `FOREIGN KEY (...) REFERENCES t (...)`
  naming the referenced columns. Its target is a "table.column" string or a column object
  (`Model.attr`, `table.c.column`), resolved once every table is read; one naming a class or
  table the project does not define is left out (the rest of the table is still read).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from auditor.dialects import MYSQL, POSTGRES, SQLITE
from auditor.schema.pysource import FinalName, PythonModule, UnreadableSource, try_literal, call_name, dotted_name, keyword, last_name, value
from auditor.schema.source import quote, quote_table

DIALECT_PREFIX = {POSTGRES: "postgresql_", SQLITE: "sqlite_", MYSQL: "mysql_"}

# SQLAlchemy type -> SQL the catalog records (only nullability and keys matter to the rules).
TYPES = {
    "Integer": "INTEGER", "SmallInteger": "SMALLINT", "BigInteger": "BIGINT", "String": "VARCHAR", "Unicode": "VARCHAR",
    "Text": "TEXT", "UnicodeText": "TEXT", "Boolean": "BOOLEAN", "DateTime": "TIMESTAMP", "Date": "DATE", "Time": "TIME",
    "Float": "FLOAT", "Numeric": "NUMERIC", "JSON": "JSON", "JSONB": "JSON", "Uuid": "UUID", "UUID": "UUID",
    "LargeBinary": "BLOB", "Enum": "VARCHAR", "Interval": "INTERVAL",
}
PYTHON_TYPES = {"int": "INTEGER", "str": "VARCHAR", "bool": "BOOLEAN", "float": "FLOAT", "datetime": "TIMESTAMP",
                "date": "DATE", "Decimal": "NUMERIC", "dict": "JSON", "bytes": "BLOB", "UUID": "UUID", "uuid.UUID": "UUID"}
COLUMN_CALLS = {"Column", "mapped_column"}


@dataclass(frozen=True)
class Target:
    """A referenced column as the code names it: `table` (and `schema`) from a "table.column"
    string, or `owner`, the Python name of a model class or Table variable (`Model.attr`)."""

    column: str
    table: str | None = None
    schema: str | None = None
    owner: str | None = None


@dataclass
class ForeignKeySpec:
    columns: list[str]
    targets: list[Target]
    problem: str | None = None  # why its targets could not be read (the reader reports it)
    name: str | None = None  # as the code names it; else the naming convention's or the database's
    references: tuple[str | None, str, list[str]] | None = None  # (schema, table, columns) once resolved


@dataclass
class ColumnSpec:
    name: str
    type: str
    nullable: bool
    primary_key: bool = False
    unique: bool = False
    index: bool = False
    line: int = 0
    attribute: str | None = None  # its attribute in a declarative class, when not its name
    foreign_keys: list[ForeignKeySpec] = field(default_factory=list)


@dataclass
class KeySpec:
    """A PRIMARY KEY or UNIQUE constraint, or a unique index."""

    kind: str  # "primary" | "unique" | "index"
    name: str | None
    elements: list[str]  # SQL: quoted column names or expressions
    columns: list[str]  # plain column names (for naming conventions)
    line: int
    where: str | None = None
    include: list[str] = field(default_factory=list)
    nulls_not_distinct: bool = False
    deferrable: bool = False
    initially_deferred: bool = False


@dataclass
class TableSpec:
    name: str
    schema: str | None
    line: int
    columns: list[ColumnSpec] = field(default_factory=list)
    keys: list[KeySpec] = field(default_factory=list)
    foreign_keys: list[ForeignKeySpec] = field(default_factory=list)  # ForeignKeyConstraints

    def all_foreign_keys(self) -> list[ForeignKeySpec]:
        return [fk for c in self.columns for fk in c.foreign_keys] + self.foreign_keys


# --- values ------------------------------------------------------------------


def dialect_keyword(call: ast.Call, option: str, dialect: str) -> ast.expr | None:
    """`postgresql_where=` on PostgreSQL, `sqlite_where=` on SQLite; other dialects' are ignored."""
    return keyword(call, DIALECT_PREFIX[dialect] + option)


def column_reference(node: ast.expr, module: PythonModule) -> str:
    """A column given as "name", Model.attr, table.c.name or a Column variable: its name."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, (ast.Attribute, ast.Name, ast.JoinedStr)):
        known = try_literal(node, module.constants)  # a constant, also one imported (`constants.KEY`)
        if isinstance(known, str):
            return known
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    raise UnreadableSource(f"column reference {ast.unparse(node)[:60]}")


def sql_expression(node: ast.expr, module: PythonModule, dialect: str) -> str:
    """Python SQL expressions as SQL: text("..."), func.lower(col), col == 'x', col.is_(None), and_()."""
    name = call_name(node)
    if isinstance(node, ast.Call) and last_name(name) in ("text", "literal_column"):
        return value(module, node.args[0])
    if isinstance(node, ast.Call) and name and (name.startswith("func.") or ".func." in name):
        function = name.rsplit(".", 1)[-1]
        return f"{function}(" + ", ".join(sql_expression(a, module, dialect) for a in node.args) + ")"
    if isinstance(node, ast.Call) and last_name(name) in ("and_", "or_"):
        joiner = " AND " if last_name(name) == "and_" else " OR "
        return joiner.join(f"({sql_expression(a, module, dialect)})" for a in node.args)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("is_", "isnot", "is_not"):
        operator = "IS" if node.func.attr == "is_" else "IS NOT"
        return f"{sql_expression(node.func.value, module, dialect)} {operator} {sql_expression(node.args[0], module, dialect)}"
    if isinstance(node, ast.Compare) and len(node.ops) == 1:
        operators = {ast.Eq: "=", ast.NotEq: "<>", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}
        operator = operators.get(type(node.ops[0]))
        if operator:
            return f"{sql_expression(node.left, module, dialect)} {operator} {sql_expression(node.comparators[0], module, dialect)}"
    if isinstance(node, ast.Constant):
        if node.value is None:
            return "NULL"
        if isinstance(node.value, bool):
            return "TRUE" if node.value else "FALSE"
        if isinstance(node.value, str):
            return "'" + node.value.replace("'", "''") + "'"
        return repr(node.value)
    if isinstance(node, (ast.Attribute, ast.Name)):
        return quote(column_reference(node, module), dialect)
    raise UnreadableSource(f"SQL expression {ast.unparse(node)[:60]}")


def index_element(node: ast.expr, module: PythonModule, dialect: str) -> tuple[str, str | None]:
    """(SQL, column name or None) of one element of an Index or constraint."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str) or isinstance(node, (ast.Attribute, ast.Name)) and not isinstance(node, ast.Call):
        column = column_reference(node, module)
        return quote(column, dialect), column
    return sql_expression(node, module, dialect), None


# --- types and columns ---------------------------------------------------------------


def type_sql(node: ast.expr | None) -> str:
    if node is None:
        return "TEXT"
    name = last_name(call_name(node)) if isinstance(node, ast.Call) else last_name(dotted_name(node))
    return TYPES.get(name or "", "TEXT")


def mapped_inner(annotation: ast.expr | None) -> tuple[ast.expr | None, bool]:
    """X, and whether it may be None, of `Mapped[X]` / `Mapped[Optional[X]]` / `Mapped[X | None]`;
    (None, False) for any other annotation."""
    if not isinstance(annotation, ast.Subscript) or last_name(dotted_name(annotation.value)) != "Mapped":
        return None, False
    inner = annotation.slice
    if isinstance(inner, ast.Subscript) and last_name(dotted_name(inner.value)) == "Optional":
        return inner.slice, True
    if isinstance(inner, ast.BinOp) and isinstance(inner.op, ast.BitOr):
        parts = [inner.left, inner.right]
        if any(isinstance(p, ast.Constant) and p.value is None for p in parts):
            return next(p for p in parts if not (isinstance(p, ast.Constant) and p.value is None)), True
    return inner, False


def annotation_type(annotation: ast.expr | None) -> tuple[str | None, bool | None]:
    """(SQL type, nullable) from `Mapped[X]` / `Mapped[Optional[X]]` / `Mapped[X | None]`."""
    inner, nullable = mapped_inner(annotation)
    if inner is None:
        return None, None
    python = dotted_name(inner) if not isinstance(inner, ast.Constant) else inner.value
    return PYTHON_TYPES.get(python or "", PYTHON_TYPES.get(last_name(python) or "", "TEXT")), nullable


def is_column_call(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Call) and last_name(call_name(node)) in COLUMN_CALLS


def column_spec(call: ast.Call, module: PythonModule, attribute: str | None = None, annotation: ast.expr | None = None) -> ColumnSpec:
    """A Column(...) / mapped_column(...) call; `attribute` names it in a declarative class."""
    args = list(call.args)
    name = attribute
    if args and isinstance(args[0], ast.Constant) and isinstance(args[0].value, str):
        name = args.pop(0).value
    elif args and isinstance(args[0], (ast.Name, ast.Attribute, ast.JoinedStr)) and isinstance(try_literal(args[0], module.constants), str):
        name = value(module, args.pop(0))  # a module constant, also one imported from another module
    if name is None and keyword(call, "name") is not None:
        name = value(module, keyword(call, "name"))  # Column(name="x", type_=...)
    if name is None:
        raise UnreadableSource("a Column without a name")
    column_type = keyword(call, "type_") or next((a for a in args if not (isinstance(a, ast.Call) and last_name(call_name(a)) in ("ForeignKey", "Sequence", "Identity", "Computed"))), None)
    foreign_keys = [
        foreign_key_spec([name], [a.args[0] if a.args else keyword(a, "column")], module, value(module, keyword(a, "name")))
        for a in args if isinstance(a, ast.Call) and last_name(call_name(a)) == "ForeignKey"
    ]
    primary_key = bool(value(module, keyword(call, "primary_key"), False))
    annotated_type, annotated_nullable = annotation_type(annotation)
    nullable_node = keyword(call, "nullable")
    if nullable_node is not None:
        nullable = bool(value(module, nullable_node))
    elif primary_key:
        nullable = False
    elif last_name(call_name(call)) == "mapped_column" and annotated_nullable is not None:
        nullable = annotated_nullable
    else:
        nullable = True
    return ColumnSpec(
        name=name,
        type=type_sql(column_type) if column_type is not None else (annotated_type or "TEXT"),
        nullable=nullable and not primary_key,
        primary_key=primary_key,
        unique=bool(value(module, keyword(call, "unique"), False)),
        index=bool(value(module, keyword(call, "index"), False)),
        line=call.lineno,
        attribute=attribute,
        foreign_keys=foreign_keys,
    )


# --- constraints and indexes ------------------------------------------------------------


def _deferral(call: ast.Call, module: PythonModule) -> tuple[bool, bool]:
    deferrable = bool(value(module, keyword(call, "deferrable"), False))
    initially = str(value(module, keyword(call, "initially"), "") or "").upper()
    return deferrable, deferrable and initially == "DEFERRED"


def key_spec(call: ast.Call, module: PythonModule, dialect: str) -> KeySpec | None:
    """UniqueConstraint / PrimaryKeyConstraint / Index(unique=True); None for anything else."""
    kind = last_name(call_name(call))
    if kind in ("UniqueConstraint", "PrimaryKeyConstraint"):
        columns = [column_reference(a, module) for a in call.args]
        deferrable, deferred = _deferral(call, module)
        nnd = dialect == POSTGRES and bool(value(module, dialect_keyword(call, "nulls_not_distinct", dialect), False))
        return KeySpec(
            kind="unique" if kind == "UniqueConstraint" else "primary",
            name=value(module, keyword(call, "name")),
            elements=[quote(c, dialect) for c in columns], columns=columns, line=call.lineno,
            deferrable=deferrable, initially_deferred=deferred, nulls_not_distinct=nnd,
        )
    if kind == "Index":
        if not value(module, keyword(call, "unique"), False):
            return None  # only unique indexes can arbitrate conflicts
        args = list(call.args)
        name = value(module, args.pop(0)) if args else None
        elements = [index_element(a, module, dialect) for a in args]
        return index_key(name, elements, call, module, dialect)
    return None


def add_table_item(spec: TableSpec, call: ast.Call, module: PythonModule, dialect: str) -> None:
    """A constraint or index given to Table(...), `__table_args__` or op.create_table (others are ignored)."""
    if last_name(call_name(call)) == "ForeignKeyConstraint":
        spec.foreign_keys.append(foreign_key_constraint(call, module))
    elif (key := key_spec(call, module, dialect)) is not None:
        spec.keys.append(key)


def index_key(name: str | None, elements: list[tuple[str, str | None]], call: ast.Call, module: PythonModule, dialect: str) -> KeySpec:
    where_node = dialect_keyword(call, "where", dialect)
    include_node = keyword(call, "postgresql_include") if dialect == POSTGRES else None
    return KeySpec(
        kind="index", name=name,
        elements=[sql for sql, _ in elements], columns=[c for _, c in elements if c], line=call.lineno,
        where=sql_expression(where_node, module, dialect) if where_node is not None else None,
        include=[column_reference(n, module) for n in include_node.elts] if isinstance(include_node, (ast.List, ast.Tuple)) else [],
        nulls_not_distinct=dialect == POSTGRES and bool(value(module, dialect_keyword(call, "nulls_not_distinct", dialect), False)),
    )


# --- foreign keys ---------------------------------------------------------------------


def foreign_key_target(node: ast.expr | None, module: PythonModule) -> Target:
    """ForeignKey's target: "table.column" / "schema.table.column", Model.attr, table.c.column
    or Model.__table__.c.column."""
    if isinstance(node, ast.Attribute):
        owner = node.value.value if isinstance(node.value, ast.Attribute) and node.value.attr == "c" else node.value
        if isinstance(owner, ast.Attribute) and owner.attr == "__table__":
            owner = owner.value
        name = last_name(dotted_name(owner))
        if name is None:
            raise UnreadableSource(f"foreign key target {ast.unparse(node)[:60]}")
        return Target(node.attr, owner=name)
    text = value(module, node)
    parts = text.split(".") if isinstance(text, str) else []
    if len(parts) not in (2, 3):
        raise UnreadableSource(f"foreign key target {text!r}")
    return Target(parts[-1], parts[-2], parts[0] if len(parts) == 3 else None)


def foreign_key_spec(columns: list[str], targets: list[ast.expr | None], module: PythonModule, name: str | None = None) -> ForeignKeySpec:
    """A foreign key whose unreadable target is kept as a problem: its column and table are still read."""
    try:
        return ForeignKeySpec(columns, [foreign_key_target(t, module) for t in targets], name=name)
    except UnreadableSource as error:
        return ForeignKeySpec(columns, [], problem=str(error))


def foreign_key_constraint(call: ast.Call, module: PythonModule) -> ForeignKeySpec:
    """ForeignKeyConstraint(columns, refcolumns, ...); unreadable, it is a problem, as a ForeignKey's target is."""
    columns = call.args[0] if call.args else keyword(call, "columns")
    referenced = call.args[1] if len(call.args) > 1 else keyword(call, "refcolumns")
    try:
        if not isinstance(columns, (ast.List, ast.Tuple)) or not isinstance(referenced, (ast.List, ast.Tuple)):
            raise UnreadableSource("ForeignKeyConstraint columns are not list literals")
        name = value(module, keyword(call, "name"))
        return foreign_key_spec([column_reference(c, module) for c in columns.elts], list(referenced.elts), module, name)
    except UnreadableSource as error:
        return ForeignKeySpec([], [], problem=str(error))


def resolve_foreign_keys(foreign_keys: Iterable[ForeignKeySpec], owners: dict[str, TableSpec]) -> list[str]:
    """Point each foreign key at its table (`owners`: model classes and Table variables by
    Python name); return why some could not be read. One whose target is not in `owners` stays
    unresolved, silently: SQLAlchemy resolves it against code we do not read."""
    problems = []
    for fk in foreign_keys:
        found = []
        for target in fk.targets:
            spec = owners.get(target.owner) if target.owner else None
            if spec is not None:
                column = next((c.name for c in spec.columns if (c.attribute or c.name) == target.column), target.column)
                found.append((spec.schema, spec.name, column))
            elif target.owner is None:
                found.append((target.schema, target.table, target.column))
        tables = {(schema, table) for schema, table, _ in found}
        if fk.problem or len(tables) > 1:
            columns = f" ({', '.join(fk.columns)})" if fk.columns else ""
            problems.append(f"foreign key{columns} not read ({fk.problem or 'it references several tables'})")
        elif found and len(found) == len(fk.targets) == len(fk.columns):
            (schema, table), = tables
            fk.references = (schema, table, [column for _, _, column in found])
    return problems


# --- naming conventions -----------------------------------------------------------------

CONVENTION_KEYS = {"primary": "pk", "unique": "uq", "index": "ix", "foreign": "fk"}
_TOKEN = re.compile(r"%\((\w+)\)s")


def convention_name(
    convention: dict, kind: str, table: str, columns: list[str], name: str | None, referred: tuple[str, list[str]] = ("", [])
) -> str | None:
    """The name MetaData(naming_convention=...) gives a key or (with the `referred` table and
    columns) a foreign key; None: the database names it."""
    if isinstance(name, FinalName):
        return name  # op.f() / conv(): already the final name
    template = convention.get(CONVENTION_KEYS[kind])
    if kind == "index" and template is None and not convention:
        template = "ix_%(column_0_label)s"  # the default MetaData's convention, for index=True
    if template is None or (name is not None and "%(constraint_name)s" not in template):
        return name
    if "%(constraint_name)s" in template and name is None:
        return None  # SQLAlchemy raises for this; leave it unnamed

    def token(match: re.Match) -> str:
        key = match.group(1)
        first = columns[0] if columns else ""
        values = {
            "table_name": table, "constraint_name": name or "", "column_0_name": first,
            "column_0_label": f"{table}_{first}", "column_0_N_name": "_".join(columns), "column_0N_name": "".join(columns),
            "column_0_N_label": "_".join(f"{table}_{c}" for c in columns),
            "referred_table_name": referred[0], "referred_column_0_name": (referred[1] or [""])[0],
            "referred_column_0_N_name": "_".join(referred[1]), "referred_column_0N_name": "".join(referred[1]),
        }
        if key not in values:
            raise UnreadableSource(f"naming convention token %({key})s")
        return values[key]

    return _TOKEN.sub(token, template)


# --- DDL ------------------------------------------------------------------------------


def key_clause(key: KeySpec, dialect: str) -> str:
    head = f"CONSTRAINT {quote(key.name, dialect)} " if key.name else ""
    body = "PRIMARY KEY" if key.kind == "primary" else "UNIQUE" + (" NULLS NOT DISTINCT" if key.nulls_not_distinct else "")
    tail = ""
    if key.deferrable and dialect == POSTGRES:
        tail = " DEFERRABLE" + (" INITIALLY DEFERRED" if key.initially_deferred else "")
    return f"{head}{body} ({', '.join(key.elements)}){tail}"


def create_index_sql(key: KeySpec, table: str, schema: str | None, dialect: str) -> str:
    name = quote(key.name, dialect) + " " if key.name else ""
    sql = f"CREATE UNIQUE INDEX {name}ON {quote_table(table, schema, dialect)} ({', '.join(key.elements)})"
    if key.include:
        sql += " INCLUDE (" + ", ".join(quote(c, dialect) for c in key.include) + ")"
    if key.nulls_not_distinct:
        sql += " NULLS NOT DISTINCT"
    if key.where:
        sql += f" WHERE {key.where}"
    return sql


def named(key: KeySpec, table: str, convention: dict) -> KeySpec:
    key.name = convention_name(convention, key.kind, table, key.columns, key.name)
    return key


def foreign_key_clause(fk: ForeignKeySpec, table: str, dialect: str, convention: dict) -> str:
    """`[CONSTRAINT name] FOREIGN KEY (...) REFERENCES t (...)`: named by the code, else by the
    `fk` naming convention, else left to the database."""
    schema, referred, referenced = fk.references
    name = convention_name(convention, "foreign", table, fk.columns, fk.name, (referred, referenced))
    head = f"CONSTRAINT {quote(name, dialect)} " if name else ""
    columns = ", ".join(quote(c, dialect) for c in fk.columns)
    return f"{head}FOREIGN KEY ({columns}) REFERENCES {quote_table(referred, schema, dialect)} ({', '.join(quote(c, dialect) for c in referenced)})"


def table_ddl(spec: TableSpec, dialect: str, convention: dict) -> list[tuple[str, int]]:
    """(statement, line) pairs: CREATE TABLE, then its unique indexes, as SQLAlchemy emits them.
    Foreign keys are those `resolve_foreign_keys` could resolve."""
    items = [f"{quote(c.name, dialect)} {c.type}{'' if c.nullable else ' NOT NULL'}" for c in spec.columns]
    constraints = [k for k in spec.keys if k.kind != "index"]
    primary = [c.name for c in spec.columns if c.primary_key]
    if primary and not any(k.kind == "primary" for k in constraints):
        constraints.insert(0, KeySpec("primary", None, [quote(c, dialect) for c in primary], primary, spec.line))
    for column in spec.columns:
        if column.unique and not column.index:
            constraints.append(KeySpec("unique", None, [quote(column.name, dialect)], [column.name], column.line))
    items += [key_clause(named(k, spec.name, convention), dialect) for k in constraints]
    items += [foreign_key_clause(fk, spec.name, dialect, convention) for fk in spec.all_foreign_keys() if fk.references]
    statements = [(f"CREATE TABLE {quote_table(spec.name, spec.schema, dialect)} ({', '.join(items)})", spec.line)]
    indexes = [k for k in spec.keys if k.kind == "index"]
    indexes += [
        KeySpec("index", None, [quote(c.name, dialect)], [c.name], c.line) for c in spec.columns if c.unique and c.index
    ]
    for index in indexes:
        statements.append((create_index_sql(named(index, spec.name, convention), spec.name, spec.schema, dialect), index.line))
    return statements
