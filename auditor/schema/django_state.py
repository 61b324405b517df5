"""Django's model state and the DDL its schema editor emits, reproduced statically.

Shared by the migrations reader (which replays operations against this state) and
the models reader (which creates each model once). What Django does, per backend:
- `unique=True` and `OneToOneField` are an inline `UNIQUE` in CREATE TABLE / ADD
  COLUMN (PostgreSQL names it `<table>_<column>_key`); made unique later by AlterField
  it is `ALTER TABLE ... ADD CONSTRAINT <table>_<column>_<hash>_uniq`;
- `unique_together` is added after the table: a constraint named
  `<table>_<cols>_<hash>_uniq` on PostgreSQL, a unique index of that name on SQLite;
- `UniqueConstraint` is inline `CONSTRAINT name UNIQUE (...)`, but with a condition,
  expressions, include or opclasses it is `CREATE UNIQUE INDEX name`, and with
  `nulls_distinct` set an `ADD CONSTRAINT ... UNIQUE NULLS [NOT] DISTINCT`; SQLite
  skips deferrable and nulls_distinct constraints altogether (Django warns W038/W047);
- a ManyToManyField has an auto-created table `<table>_<field>` with a unique pair.
The hashed names use Django's own digest (md5 of table and column names).
"""

from __future__ import annotations

import ast
import hashlib
from dataclasses import dataclass, field, replace

from auditor.dialects import MYSQL, POSTGRES, SQLITE
from auditor.key_names import postgres_object_name
from auditor.schema.fresh_values import fresh_primary_key
from auditor.schema.pysource import PythonModule, UnreadableSource, call_name, keyword, last_name, value
from auditor.schema.source import quote

RELATIONS = {"ForeignKey", "OneToOneField", "ParentalKey"}  # ParentalKey: django-modelcluster's ForeignKey
TYPES = {
    "AutoField": "integer", "BigAutoField": "bigint", "SmallAutoField": "smallint", "IntegerField": "integer",
    "BigIntegerField": "bigint", "SmallIntegerField": "smallint", "PositiveIntegerField": "integer",
    "PositiveBigIntegerField": "bigint", "PositiveSmallIntegerField": "smallint", "CharField": "varchar",
    "SlugField": "varchar", "EmailField": "varchar", "URLField": "varchar", "TextField": "text", "BooleanField": "boolean",
    "DateTimeField": "timestamp", "DateField": "date", "TimeField": "time", "DecimalField": "numeric",
    "FloatField": "double precision", "UUIDField": "uuid", "JSONField": "json", "BinaryField": "blob",
    "DurationField": "interval", "GenericIPAddressField": "varchar", "FileField": "varchar", "ImageField": "varchar",
}



def names_digest(*args: str, length: int) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    for arg in args:
        digest.update(arg.encode())
    return digest.hexdigest()[:length]


def index_name(table: str, columns: list[str], suffix: str, max_length: int = 63) -> str:
    """Django's BaseDatabaseSchemaEditor._create_index_name."""
    table = table.split(".")[-1].strip('"')
    hash_suffix = names_digest(table, *columns, length=8) + suffix
    name = f"{table}_{'_'.join(columns)}_{hash_suffix}"
    if len(name) <= max_length:
        return name
    if len(hash_suffix) > max_length / 3:
        hash_suffix = hash_suffix[: max_length // 3]
    other = (max_length - len(hash_suffix)) // 2 - 1
    name = f"{table[:other]}_{'_'.join(columns)[:other]}_{hash_suffix}"
    if name[0] == "_" or name[0].isdigit():
        name = "D" + name[:-1]
    return name


MAX_NAME_LENGTH = {POSTGRES: 63, SQLITE: 200, MYSQL: 64}


@dataclass
class FieldState:
    name: str
    kind: str  # CharField, ForeignKey, ...
    column: str | None  # None for ManyToManyField
    type: str
    null: bool
    unique: bool
    primary_key: bool
    target: str | None = None  # "app.Model" or "Model" for relations
    unique_name: str | None = None  # the name of its unique constraint in the database
    through: bool = False  # a many-to-many through a model of its own: Django makes no table for it
    to_field: str | None = None  # a relation's referenced field, when not the primary key
    constrained: bool = True  # a relation with a foreign key in the database (db_constraint)
    references: tuple[str, str] | None = None  # (table, column) a relation's column points at, once linked
    db_table: str | None = None  # a many-to-many's table, when named
    related_name: str | None = None  # the reverse accessor's name on the target, when given
    fresh: bool = False  # a primary key whose default gives each new row a value of its own (uuid4)

    @property
    def auto_table(self) -> bool:
        """A many-to-many whose table Django creates."""
        return self.column is None and not self.through

    def auto_table_name(self, model_table: str) -> str:
        return self.db_table or f"{model_table}_{self.name}"


@dataclass
class ConstraintState:
    name: str
    fields: list[str]
    expressions: list[str]  # SQL
    condition: str | None
    include: list[str]
    deferrable: bool
    nulls_distinct: bool | None

    @property
    def as_index(self) -> bool:
        return bool(self.condition or self.include or self.expressions)


@dataclass
class ModelState:
    app: str
    name: str
    table: str
    explicit_table: bool
    fields: dict[str, FieldState] = field(default_factory=dict)
    unique_together: list[tuple[str, ...]] = field(default_factory=list)
    # The database name of each unique_together key: Django names it once, from the columns
    # of that moment, and a later RenameField does not rename it.
    together_names: dict[tuple[str, ...], str] = field(default_factory=dict)
    constraints: list[ConstraintState] = field(default_factory=list)

    def column(self, field_name: str) -> str:
        """The column of a field, named by its name or, for a relation, its attname
        (`line_id` for `line`, whatever its db_column), as Django's get_field accepts both."""
        found = self.fields.get(field_name)
        if found is None and field_name.endswith("_id"):
            relation = self.fields.get(field_name[: -len("_id")])
            found = relation if relation is not None and relation.target is not None else None
        if found is None or found.column is None:
            raise UnreadableSource(f"{self.name} has no column for field {field_name!r}")
        return found.column


def field_columns(model: ModelState, dialect: str) -> dict[str, str]:
    """"Model.name" -> quoted column for every name a lookup may use for a field: its name,
    a relation's attname (`account_id`), and its column (a `db_column="owner"`)."""
    names: dict[str, str] = {}
    for f in model.fields.values():
        if not f.column:
            continue
        column = quote(f.column, dialect)
        names.setdefault(f"{model.name}.{f.column}", column)
        if f.target is not None:
            names[f"{model.name}.{f.name}_id"] = column
        names[f"{model.name}.{f.name}"] = column
    return names


def default_table(app: str, model: str) -> str:
    return f"{app}_{model.lower()}"


# --- reading field and option calls -------------------------------------------------


# Many-to-many managers of other packages whose rows live in a model of their own
# (django-taggit's TaggableManager: taggit's TaggedItem, or its through=).
THROUGH_MODEL_MANAGERS = {"TaggableManager"}


def field_state(module: PythonModule, name: str, call: ast.Call) -> FieldState:
    kind = last_name(call_name(call)) or ""
    if kind in THROUGH_MODEL_MANAGERS:
        return FieldState(name, kind, None, "", True, False, False, through=True)
    if not kind.endswith(("Field", "ForeignKey", "ParentalKey")):
        raise UnreadableSource(f"{kind or 'this'}(...) is not a Django field class")
    primary_key = bool(value(module, keyword(call, "primary_key"), False))
    if kind == "ManyToManyField":
        target = call.args[0] if call.args else keyword(call, "to")
        return FieldState(
            name, kind, None, "", True, False, False, target=_target(module, target),
            through=keyword(call, "through") is not None, db_table=value(module, keyword(call, "db_table")),
        )
    db_column = value(module, keyword(call, "db_column"))
    target = None
    if kind in RELATIONS:
        target = _target(module, call.args[0] if call.args else keyword(call, "to"))
        column = db_column or f"{name}_id"
        sql_type = "bigint"
    else:
        column = db_column or name
        sql_type = TYPES.get(kind, "text")
    return FieldState(
        name=name, kind=kind, column=column, type=sql_type,
        null=bool(value(module, keyword(call, "null"), False)) and not primary_key,
        unique=(bool(value(module, keyword(call, "unique"), False)) or kind == "OneToOneField") and not primary_key,
        primary_key=primary_key, target=target,
        to_field=value(module, keyword(call, "to_field")) if target else None,
        constrained=bool(value(module, keyword(call, "db_constraint"), True)),
        related_name=_literal_name(module, keyword(call, "related_name")) if target else None,
        fresh=fresh_primary_key(call),
    )


def _literal_name(module: PythonModule, node: ast.expr | None) -> str | None:
    """A related_name given as a plain string ("%(class)s" patterns and run-time values: None)."""
    try:
        name = value(module, node)
    except UnreadableSource:
        return None
    return name if isinstance(name, str) and "%" not in name else None


def settings_default(node: ast.expr | None) -> ast.expr | None:
    """The default of `getattr(settings, "NAME", default)`: what the project's settings give
    is not known statically, so the default is taken (the models reader says so)."""
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr" and len(node.args) == 3
            and isinstance(node.args[0], ast.Name) and node.args[0].id == "settings"):
        return node.args[2]
    return None


def _target(module: PythonModule, node: ast.expr | None) -> str:
    if node is None:
        raise UnreadableSource("a relation without a target")
    node = settings_default(node) or node
    if isinstance(node, ast.Name) and node.id not in module.constants:
        return node.id  # a model class of the same module
    if isinstance(node, ast.Attribute) and node.attr == "AUTH_USER_MODEL":
        return "auth.User"
    if isinstance(node, ast.Call) and last_name(call_name(node)) == "get_model_name" and len(node.args) == 2:
        app, model = (value(module, a) for a in node.args)  # swapper: a swappable model, taken as not swapped
        return f"{app}.{model}"
    target = value(module, node)
    if not isinstance(target, str):
        raise UnreadableSource("relation target is not a model name")
    return target


LOOKUP_OPERATORS = {"exact": "=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


def q_sql(module: PythonModule, node: ast.expr, model: ModelState, dialect: str) -> str:
    """Q(a=1, b__isnull=True), Q(...) & | ~ Q(...), and the form makemigrations writes,
    Q(("a", 1), ("b__gte", 2), _connector="OR", _negated=True), as SQL over the model's columns."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.BitAnd, ast.BitOr)):
        joiner = " AND " if isinstance(node.op, ast.BitAnd) else " OR "
        return f"({q_sql(module, node.left, model, dialect)}){joiner}({q_sql(module, node.right, model, dialect)})"
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Invert):
        return f"NOT ({q_sql(module, node.operand, model, dialect)})"
    if not (isinstance(node, ast.Call) and last_name(call_name(node)) == "Q"):
        raise UnreadableSource("condition is not a Q(...) expression")
    terms, connector, negated = [], "AND", False
    for argument in node.args:
        if isinstance(argument, ast.Tuple) and len(argument.elts) == 2:  # ("field__lookup", value)
            terms.append(lookup_sql(value(module, argument.elts[0]), value(module, argument.elts[1]), model, dialect))
        else:
            terms.append(f"({q_sql(module, argument, model, dialect)})")
    for item in node.keywords:
        if item.arg == "_connector":
            connector = str(value(module, item.value)).upper()
        elif item.arg == "_negated":
            negated = bool(value(module, item.value))
        else:
            terms.append(lookup_sql(item.arg, value(module, item.value), model, dialect))
    if connector not in ("AND", "OR") or not terms:
        raise UnreadableSource(f"a Q with connector {connector} and {len(terms)} terms")
    sql = f" {connector} ".join(terms) if len(terms) > 1 else terms[0]
    return f"NOT ({sql})" if negated else sql


def lookup_sql(name: str, operand, model: ModelState, dialect: str) -> str:
    """One `field__lookup=value` of a Q, as Django compiles it."""
    path, _, lookup = name.partition("__")
    column = quote(model.column(path), dialect)
    if lookup == "isnull":
        return f"{column} IS {'NULL' if operand else 'NOT NULL'}"
    if lookup in ("", "exact") and operand is None:
        return f"{column} IS NULL"  # Django compiles `col=None` as isnull, never `= NULL`
    if lookup in ("", "exact") and isinstance(operand, bool):
        return column if operand else f"NOT {column}"  # how Django compiles a boolean exact
    if lookup in ("", *LOOKUP_OPERATORS):
        return f"{column} {LOOKUP_OPERATORS.get(lookup or 'exact')} {sql_literal(operand, dialect)}"
    raise UnreadableSource(f"lookup __{lookup} in a condition")


def sql_literal(operand, dialect: str) -> str:
    if operand is None:
        return "NULL"
    if isinstance(operand, bool):
        return ("true" if operand else "false") if dialect == POSTGRES else str(int(operand))
    if isinstance(operand, str):
        return "'" + operand.replace("'", "''") + "'"
    return repr(operand)


def expression_sql(module: PythonModule, node: ast.expr, model: ModelState, dialect: str) -> str:
    """F("x"), Lower("x"), Upper(F("x")) as SQL."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return quote(model.column(node.value), dialect)
    name = last_name(call_name(node))
    if name == "F" and node.args:
        return quote(model.column(value(module, node.args[0])), dialect)
    if name in ("Lower", "Upper", "Length", "Trim", "Abs") and node.args:
        function = {"Length": "length"}.get(name, name.lower())
        return f"{function.upper()}({expression_sql(module, node.args[0], model, dialect)})"
    raise UnreadableSource(f"expression {ast.unparse(node)[:60]}")


def constraint_state(module: PythonModule, call: ast.Call, model: ModelState, dialect: str) -> ConstraintState | None:
    """A UniqueConstraint(...) call; None for other constraints (CheckConstraint, ...)."""
    if last_name(call_name(call)) != "UniqueConstraint":
        return None
    deferrable = keyword(call, "deferrable")
    nulls = keyword(call, "nulls_distinct")
    condition = keyword(call, "condition")
    return ConstraintState(
        name=_interpolated(value(module, keyword(call, "name")), model),
        fields=list(value(module, keyword(call, "fields"), ()) or ()),
        expressions=[expression_sql(module, e, model, dialect) for e in call.args],
        condition=q_sql(module, condition, model, dialect) if condition is not None else None,
        include=list(value(module, keyword(call, "include"), ()) or ()),
        deferrable=deferrable is not None and not (isinstance(deferrable, ast.Constant) and deferrable.value is None),
        nulls_distinct=None if nulls is None else bool(value(module, nulls)),
    )


# --- DDL ---------------------------------------------------------------------------


def primary_column(model: ModelState) -> str:
    return next((f.column for f in model.fields.values() if f.primary_key and f.column), "id")


def _interpolated(name, model: ModelState):
    """A constraint name of an abstract base, as Django fills it in for each child:
    `%(class)s` is the child's name in lower case, `%(app_label)s` its app's label."""
    if not isinstance(name, str) or "%(" not in name:
        return name
    return name.replace("%(class)s", model.name.lower()).replace("%(app_label)s", model.app.lower())


def foreign_key_name(table: str, f: FieldState, dialect: str) -> str | None:
    """Django's name for a relation's constraint (`_fk_constraint_name`); SQLite's are unnamed."""
    if dialect == SQLITE or f.references is None:
        return None
    to_table, to_column = f.references
    return index_name(table, [f.column], f"_fk_{to_table}_{to_column}", MAX_NAME_LENGTH[dialect])


def foreign_key_clause(table: str, f: FieldState, dialect: str) -> str:
    """`[CONSTRAINT name] FOREIGN KEY (col) REFERENCES t (c)` for a linked relation. Django
    creates it at the end of the migration, so a rename later in the same migration renames
    it too; that is not followed here (the name is the one of its creation)."""
    name = foreign_key_name(table, f, dialect)
    to_table, to_column = f.references
    head = f"CONSTRAINT {quote(name, dialect)} " if name else ""
    return f"{head}FOREIGN KEY ({quote(f.column, dialect)}) REFERENCES {quote(to_table, dialect)} ({quote(to_column, dialect)})"


def column_definition(f: FieldState, dialect: str, inline_unique: bool = True) -> str:
    parts = [quote(f.column, dialect), f.type, "NULL" if f.null else "NOT NULL"]
    if f.primary_key:
        parts.append("PRIMARY KEY")
    elif f.unique and inline_unique:
        parts.append("UNIQUE")
    return " ".join(parts)


def link_relation(model: ModelState, f: FieldState, find) -> None:
    """Point a relation's column at its target's table (`find("app.Model")` -> ModelState or
    None), so the catalog knows the foreign key; `"self"` is the model itself."""
    if f.kind not in RELATIONS or not f.constrained or not f.target or f.column is None:
        return
    app, _, name = f.target.rpartition(".")
    itself = name.lower() == "self" or (name.lower() == model.name.lower() and app.lower() in ("", model.app.lower()))
    target = model if itself else find(f.target)
    if target is None:
        return
    column = primary_column(target)
    if f.to_field:
        referenced = target.fields.get(f.to_field)
        column = referenced.column if referenced and referenced.column else f.to_field
    f.references = (target.table, column)


def unique_together_sql(model: ModelState, fields: tuple[str, ...], dialect: str) -> str:
    columns = [model.column(f) for f in fields]
    name = index_name(model.table, columns, "_uniq", MAX_NAME_LENGTH[dialect])
    model.together_names[tuple(fields)] = name
    cols = ", ".join(quote(c, dialect) for c in columns)
    if dialect == SQLITE:
        return f"CREATE UNIQUE INDEX {quote(name, dialect)} ON {quote(model.table, dialect)} ({cols})"
    return f"ALTER TABLE {quote(model.table, dialect)} ADD CONSTRAINT {quote(name, dialect)} UNIQUE ({cols})"


def constraint_supported(c: ConstraintState, dialect: str) -> bool:
    """Django creates no unique constraint the backend cannot: SQLite has no deferrable or
    nulls_distinct ones (W038 / W047); MariaDB no conditional, covering, functional,
    deferrable or nulls_distinct ones (W036, W039, W040, W044; MySQL 8 would take functional
    ones, which statically we cannot tell apart)."""
    if dialect == SQLITE:
        return not (c.deferrable or c.nulls_distinct is not None)
    if dialect == MYSQL:
        return not (c.condition or c.include or c.expressions or c.deferrable or c.nulls_distinct is not None)
    return True


def constraint_sql(model: ModelState, c: ConstraintState, dialect: str, inline: bool) -> tuple[str | None, str | None]:
    """(inline table clause, separate statement): exactly one is set, or neither if unsupported."""
    if not constraint_supported(c, dialect):
        return None, None
    table = quote(model.table, dialect)
    elements = [quote(model.column(f), dialect) for f in c.fields] + c.expressions
    columns = ", ".join(elements)
    if c.as_index:
        sql = f"CREATE UNIQUE INDEX {quote(c.name, dialect)} ON {table} ({columns})"
        if c.include and dialect == POSTGRES:
            sql += " INCLUDE (" + ", ".join(quote(model.column(f), dialect) for f in c.include) + ")"
        if c.nulls_distinct is False and dialect == POSTGRES:
            sql += " NULLS NOT DISTINCT"
        if c.condition:
            sql += f" WHERE {c.condition}"
        return None, sql
    nulls = " NULLS NOT DISTINCT" if c.nulls_distinct is False else ""
    deferrable = " DEFERRABLE INITIALLY DEFERRED" if c.deferrable and dialect == POSTGRES else ""
    clause = f"CONSTRAINT {quote(c.name, dialect)} UNIQUE{nulls} ({columns}){deferrable}"
    if inline and c.nulls_distinct is None:
        return clause, None
    return None, f"ALTER TABLE {table} ADD {clause}"


def create_model_sql(model: ModelState, dialect: str) -> list[str]:
    """CREATE TABLE with inline keys, then what Django defers (unique_together, index constraints)."""
    items = [column_definition(f, dialect) for f in model.fields.values() if f.column is not None]
    items += [foreign_key_clause(model.table, f, dialect) for f in model.fields.values() if f.references and f.column is not None]
    later = []
    for c in model.constraints:
        inline, separate = constraint_sql(model, c, dialect, inline=True)
        if inline:
            items.append(inline)
        if separate:
            later.append(separate)
    for f in model.fields.values():
        if f.unique and not f.primary_key and f.unique_name is None and dialect == POSTGRES:
            f.unique_name = postgres_object_name(model.table, [f.column], "key")
    statements = [f"CREATE TABLE {quote(model.table, dialect)} ({', '.join(items)})"]
    statements += [unique_together_sql(model, together, dialect) for together in model.unique_together]
    return statements + later


def through_table(model: ModelState, f: FieldState, target: ModelState | None, dialect: str) -> tuple[ModelState, list[str]]:
    """The auto-created table of a ManyToManyField and its DDL."""
    source_name = model.name.lower()
    target_name = (target.name if target else f.target.split(".")[-1]).lower()
    if source_name == target_name:
        source_name, target_name = f"from_{source_name}", f"to_{target_name}"
    through = ModelState(model.app, f"{model.name}_{f.name}", f.auto_table_name(model.table), True)
    through.fields = {
        "id": FieldState("id", "BigAutoField", "id", "bigint", False, False, True),
        source_name: FieldState(source_name, "ForeignKey", f"{source_name}_id", "bigint", False, False, False, references=(model.table, primary_column(model))),
        target_name: FieldState(
            target_name, "ForeignKey", f"{target_name}_id", "bigint", False, False, False,
            references=(target.table, primary_column(target)) if target else None,
        ),
    }
    through.unique_together = [(source_name, target_name)]
    return through, create_model_sql(through, dialect)


def with_field(model: ModelState, f: FieldState) -> ModelState:
    return replace(model, fields={**model.fields, f.name: f})
