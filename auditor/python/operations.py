"""One call that reads or writes rows, recognised by reading it: raw SQL or an ORM call.

    cur.execute("SELECT id FROM avatars WHERE user_id = %s", ...)   read   (its SQL)
    Avatar.objects.filter(user=u).exists()                           read   SELECT ... WHERE user = ?
    session.query(Avatar).filter_by(user_id=u).first()               read
    Avatar.objects.create(user=u, persona=p)                         insert INSERT ... (user, persona)
    session.add(Avatar(user_id=u, persona=p))                        insert
    Avatar.objects.filter(user=u).update(persona=p)                  update
    session.query(Avatar).filter_by(user_id=u).delete()              delete

ORM calls are written as neutral SQL with `"<model:Avatar>"` / `"<field:Avatar.user>"`
placeholders (`neutral_sql`), as the other ORM extractors do; the engine fills in the table and columns
the schema readers found, and drops the call if `Avatar` is not a model. Only equality
lookups pin a column (`user=u`, `Avatar.user_id == u`); any other filter is written as
a `LIKE` term, which the SQL reader counts as inexact.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from typing import Mapping

from auditor.python.calls import EXECUTE_NAMES
from auditor.python.neutral_sql import PARENT_FIELD, RELATED, insert_sql as neutral_insert_sql, model_field as column, model_table as table

READ, INSERT, UPDATE, DELETE = "read", "insert", "update", "delete"

_FIRST_WORD = re.compile(r"^\s*(?:\(\s*)?(SELECT|INSERT|UPDATE|DELETE|WITH)\b", re.I)

DJANGO_READS = {"exists", "first", "last", "get", "count", "aexists", "afirst", "alast", "aget", "acount"}
DJANGO_FILTERS = {"filter", "get", "aget", "select_for_update", "only", "defer"}
SQLALCHEMY_READS = {"first", "one", "one_or_none", "scalar", "count", "scalar_one_or_none", "scalar_one", "all"}
SESSION_READS = {"scalar", "execute", "scalars"}  # session.scalar(select(M).where(...))
DJANGO_LOOKUP_EXACT = {"exact"}
# A reverse accessor's chain starts with a queryset call (a plain `.get(k)` on some other
# attribute is far more often a dict's): filter / exclude / create, not get.
# A project's own query factory, by the name the oslo.db projects (nova, cinder, neutron)
# give it: `model_query(context, models.Instance, ...)` starts a query of that model.
QUERY_FACTORIES = {"model_query"}
ACCESSOR_FIRST_CALLS = {"filter", "exclude", "create", "acreate", "select_related", "prefetch_related", "select_for_update"}


@dataclass(frozen=True)
class Operation:
    kind: str  # read | insert | update | delete
    sql: str | None  # None: not a constant
    node: ast.Call
    api: str  # the called name: execute, create, add, update, ...


def _call_name(call: ast.Call) -> str | None:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None


def _receiver(call: ast.Call) -> ast.expr | None:
    return call.func.value if isinstance(call.func, ast.Attribute) else None


def _model(node: ast.AST | None) -> str | None:
    """A model class as code names it: `Avatar` or `models.Avatar` (the class name)."""
    if isinstance(node, ast.Name) and node.id[:1].isupper():
        return node.id
    if isinstance(node, ast.Attribute) and node.attr[:1].isupper():
        return node.attr
    return None


@dataclass(frozen=True)
class Names:
    """What a function's own names stand for: in a model's classmethod `cls` is that model; in
    a method of a custom manager or queryset, `self` is the manager and `self.model` the model
    of whichever model places it (`objects = ThatManager()`), an alias the engine resolves
    (`neutral_sql.manager_model`)."""

    cls: str | None = None
    manager: str | None = None

    def model(self, node: ast.AST | None) -> str | None:
        if self.cls and isinstance(node, ast.Name) and node.id == "cls":
            return self.cls
        if self.manager and isinstance(node, ast.Attribute) and node.attr == "model" and self.is_manager(node.value):
            return self.manager
        return _model(node)

    def is_manager(self, node: ast.AST | None) -> bool:
        """`self` in a manager's method, or `super()` in one that overrides a manager method."""
        if self.manager is None:
            return False
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "super":
            return True
        return isinstance(node, ast.Name) and node.id == "self"


PLAIN = Names()


# Names a session goes by besides `...session`: Pyramid's `request.db`, FastAPI's
# `db: Session = Depends(get_db)`, `self.db` in a bridge's handlers. A database wrapper called
# `db` that runs SQL (`db.execute(...)`) is read by its SQL: only add/merge/query/get of a
# model class are taken as the session's.
SESSION_NAMES = {"db"}


def is_session(node: ast.AST | None) -> bool:
    """A SQLAlchemy session as code usually names it: `session`, `db.session`, `self.dbsession`,
    `request.db`, `db`."""
    name = _last_name(node).lower()
    return name.endswith("session") or name in SESSION_NAMES


def _last_name(node: ast.AST | None) -> str:
    """`db` of `db` and of `request.db`; "" for anything else."""
    return node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""


@dataclass(frozen=True)
class Lookup:
    exact: tuple[str, ...]  # fields pinned by equality
    inexact: tuple[str, ...] = ()  # fields filtered some other way
    folded: tuple[str, ...] = ()  # fields pinned by equality ignoring case (`func.lower(M.name) == n`)

    def where(self, model: str) -> str:
        terms = ([f"{column(model, f)} = ?" for f in self.exact] + [f"LOWER({column(model, f)}) = ?" for f in self.folded]
                 + [f"{column(model, f)} LIKE ?" for f in self.inexact])
        return " WHERE " + " AND ".join(terms) if terms else ""

    def __add__(self, other: "Lookup") -> "Lookup":
        return Lookup(self.exact + other.exact, self.inexact + other.inexact, self.folded + other.folded)


IGNORED_KEYWORDS = {"defaults", "create_defaults"}


def django_lookup(call: ast.Call) -> Lookup:
    """`filter(user=u, email__iexact=e, Q(...))`: user is exact; the rest are not."""
    exact, inexact = [], []
    for keyword in call.keywords:
        if keyword.arg is None:  # **kwargs: fields unknown
            inexact.append("?")
            continue
        if keyword.arg in IGNORED_KEYWORDS:
            continue
        field, _, lookup = keyword.arg.partition("__")
        (exact if lookup in ("", *DJANGO_LOOKUP_EXACT) else inexact).append(field)
    inexact += ["?"] * len(call.args)  # Q objects
    return Lookup(tuple(exact), tuple(inexact))


# The field the readers map to a model's one-column primary key (Django's own name for it).
PRIMARY_KEY = "pk"


def _one_key_argument(call: ast.Call) -> bool:
    return len(call.args) == 1 and not call.keywords and not isinstance(call.args[0], (ast.Tuple, ast.List, ast.Dict))


def sqlalchemy_lookup(call: ast.Call, model: str, names: Names = PLAIN) -> Lookup:
    """`filter_by(user_id=u)` or `filter(Avatar.user_id == u, ...)` / `where(...)`."""
    if _call_name(call) == "filter_by":
        return _keyword_lookup(call)
    return _compared_lookup(call.args, model, names)


def _keyword_lookup(call: ast.Call) -> Lookup:
    """`filter_by(user_id=u)`, peewee's `get(user=u)`: each keyword pins its field; `**kw` pins
    fields not known."""
    return Lookup(tuple(k.arg for k in call.keywords if k.arg), ("?",) * sum(1 for k in call.keywords if not k.arg))


def _compared_lookup(arguments: list[ast.expr], model: str, names: Names) -> Lookup:
    """`Avatar.user_id == u`, `func.lower(Avatar.name) == n`, `Avatar.name.ilike(n)`, AND-ed."""
    exact, inexact, folded = [], [], []
    for argument in _conjuncts(arguments):
        if isinstance(argument, ast.Compare) and len(argument.ops) == 1 and isinstance(argument.ops[0], ast.Eq):
            if (field := _model_field(argument.left, model, names)) is not None:
                exact.append(field)
                continue
            if (field := _lowered_field(argument.left, model, names) or _lowered_field(argument.comparators[0], model, names)) is not None:
                folded.append(field)
                continue
        if isinstance(argument, ast.Call) and _call_name(argument) == "ilike" and isinstance(argument.func, ast.Attribute) \
                and (field := _model_field(argument.func.value, model, names)) is not None and len(argument.args) == 1:
            folded.append(field)  # `M.name.ilike(n)`: no wildcard is known, but it is not exact either
            continue
        inexact.append("?")
    return Lookup(tuple(exact), tuple(inexact), tuple(folded))


def _model_field(node: ast.expr, model: str, names: Names) -> str | None:
    """`Avatar.user_id` of the model looked up: the field's name."""
    return node.attr if isinstance(node, ast.Attribute) and names.model(node.value) == model else None


def _lowered_field(node: ast.expr, model: str, names: Names) -> str | None:
    """`func.lower(Avatar.name)` (or upper): the field compared ignoring case."""
    if isinstance(node, ast.Call) and _call_name(node) in ("lower", "upper") and len(node.args) == 1 and not node.keywords:
        return _model_field(node.args[0], model, names)
    return None


def _conjuncts(arguments: list[ast.expr]) -> list[ast.expr]:
    """`filter(a, b)`, `filter((A.x == 1) & (A.y == 2))` and `filter(and_(a, b))` all AND their terms."""
    found: list[ast.expr] = []
    for argument in arguments:
        if isinstance(argument, ast.BinOp) and isinstance(argument.op, ast.BitAnd):
            found += _conjuncts([argument.left, argument.right])
        elif isinstance(argument, ast.Call) and _call_name(argument) == "and_" and not argument.keywords:
            found += _conjuncts(argument.args)
        else:
            found.append(argument)
    return found


def field_names(call: ast.Call) -> tuple[str, ...] | None:
    """Field names a constructor or create() call sets by keyword; None if any come from **kw."""
    if any(k.arg is None for k in call.keywords) or call.args:
        return None
    return tuple(k.arg for k in call.keywords if k.arg not in IGNORED_KEYWORDS)


def insert_sql(model: str, fields: tuple[str, ...] | None) -> str:
    return neutral_insert_sql(table(model), [column(model, f) for f in fields or ()])


def select_sql(model: str, lookup: Lookup) -> str:
    return f"SELECT * FROM {table(model)}{lookup.where(model)}"


def dict_key_names(node: ast.Dict) -> list[str | None]:
    """The column each key of `{"persona": p}` / `{Avatar.persona: p}` names; None for others."""
    return [
        k.value if isinstance(k, ast.Constant) and isinstance(k.value, str) else k.attr if isinstance(k, ast.Attribute) else None
        for k in node.keys
    ]


def _update_fields(call: ast.Call) -> tuple[str, ...]:
    """`update(persona=p)` (Django) or `update({"persona": p})` / `update({Avatar.persona: p})`."""
    if call.keywords:
        return tuple(k.arg for k in call.keywords if k.arg)
    if call.args and isinstance(call.args[0], ast.Dict):
        return tuple(n for n in dict_key_names(call.args[0]) if n is not None)
    return ()


def _chain(call: ast.Call) -> list[ast.Call]:
    """`a.b(x).c(y).d()` -> [b(x), c(y), d()] (the calls, innermost first)."""
    calls: list[ast.Call] = []
    node: ast.AST = call
    while isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        calls.append(node)
        node = node.func.value
    return list(reversed(calls))


def _chain_base(call: ast.Call) -> ast.AST:
    node: ast.AST = call
    while isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        node = node.func.value
    return node


def _django(call: ast.Call, names: Names = PLAIN) -> Operation | None:
    """`Model.objects.<filter...>.<terminal>()`, or the same through a reverse accessor,
    `team.invites.filter(...).exists()` / `team.invites.create(...)`: the child model, with
    the parent's foreign key pinned (neutral_sql.RELATED)."""
    base = _chain_base(call)
    calls = _chain(call)
    called = [_call_name(c) for c in calls]
    parent = False
    if isinstance(base, ast.Attribute) and base.attr == "objects" and (model := names.model(base.value)):
        pass
    elif names.is_manager(base) and called:  # self.filter(...).exists() in a custom manager
        model = names.manager
    elif isinstance(base, ast.Attribute) and base.attr == "query" and names.model(base.value):
        return None  # Flask-SQLAlchemy's `Unlocks.query.filter(...)`, not a reverse accessor
    elif isinstance(base, ast.Attribute) and base.attr.islower() and called and called[0] in ACCESSOR_FIRST_CALLS:
        model, parent = RELATED + base.attr, True
    else:
        return None
    lookup = Lookup((PARENT_FIELD,)) if parent else Lookup(())
    for step in calls:
        if _call_name(step) in DJANGO_FILTERS:
            lookup = lookup + django_lookup(step)
    last = called[-1]
    if called == ["create"] or called == ["acreate"]:
        fields = field_names(call)
        fields = (*fields, PARENT_FIELD) if parent and fields is not None else fields
        return Operation(INSERT, insert_sql(model, fields), call, last)
    if last in ("update", "aupdate") and len(called) > 1:
        fields = _update_fields(call) or ("pk",)
        sets = ", ".join(f"{column(model, f)} = ?" for f in fields)
        return Operation(UPDATE, f"UPDATE {table(model)} SET {sets}{lookup.where(model)}", call, last)
    if last in ("delete", "adelete") and len(called) > 1:
        return Operation(DELETE, f"DELETE FROM {table(model)}{lookup.where(model)}", call, last)
    if last in DJANGO_READS:
        return Operation(READ, select_sql(model, lookup), call, last)
    return None


def _query_model(calls: list[ast.Call], names: Names = PLAIN) -> str | None:
    """`session.query(Avatar)...` or `select(Avatar)...` -> Avatar."""
    first = calls[0] if calls else None
    if first is not None and _call_name(first) in ("query", "select") and first.args:
        selected = first.args[0]
        if isinstance(selected, ast.Attribute) and names.model(selected.value):
            return names.model(selected.value)  # select(Avatar.id): a column of the model
        return names.model(selected)
    return None


def _chain_lookup(steps: list[ast.Call], model: str, names: Names = PLAIN) -> Lookup:
    """The lookup of a query's filter / filter_by / where steps, AND-ed."""
    lookup = Lookup(())
    for step in steps:
        if _call_name(step) in ("filter", "filter_by", "where"):
            lookup = lookup + sqlalchemy_lookup(step, model, names)
    return lookup


def _sqlalchemy_query(call: ast.Call, names: Names = PLAIN) -> Operation | None:
    """`session.query(M).filter_by(...).first()` (or Flask-SQLAlchemy's `M.query...`) and
    friends, `.update({...})`, `.delete()`."""
    calls = _chain(call)
    base = _chain_base(call)
    if not calls:
        return None
    if is_session(base):
        model, steps = _query_model(calls, names), calls[1:]
    elif isinstance(base, ast.Attribute) and base.attr == "query":  # Flask-SQLAlchemy: Avatar.query.filter_by(...)
        model, steps = names.model(base.value), calls
    elif isinstance(base, ast.Call) and _call_name(base) in QUERY_FACTORIES:  # model_query(context, models.Avatar)
        model, steps = next((m for a in base.args[:2] if (m := names.model(a))), None), calls
    else:
        return None
    if model is None:
        return None
    lookup = _chain_lookup(steps, model, names)
    last = _call_name(calls[-1])
    if last == "get":  # Query.get(k): by primary key (a composite key's tuple is not read)
        return Operation(READ, select_sql(model, lookup + Lookup((PRIMARY_KEY,))), call, last) if _one_key_argument(calls[-1]) else None
    if last == "update":
        sets = ", ".join(f"{column(model, f)} = ?" for f in (_update_fields(call) or ("id",)))
        return Operation(UPDATE, f"UPDATE {table(model)} SET {sets}{lookup.where(model)}", call, last)
    if last == "delete":
        return Operation(DELETE, f"DELETE FROM {table(model)}{lookup.where(model)}", call, last)
    if last in SQLALCHEMY_READS:
        return Operation(READ, select_sql(model, lookup), call, last)
    return None


def _select_statement(node: ast.AST, names: Names = PLAIN) -> tuple[str, Lookup] | None:
    """`select(M).where(M.k == x)` / `.filter_by(k=x)` -> (M, lookup)."""
    if not isinstance(node, ast.Call):
        return None
    calls = [*_chain(node)] if isinstance(node.func, ast.Attribute) else []
    root = _chain_base(node)
    if isinstance(root, ast.Call) and _call_name(root) == "select":
        calls = [root, *calls]
    elif _call_name(node) == "select":
        calls = [node]
    model = _query_model(calls, names)
    if model is None:
        return None
    return model, _chain_lookup(calls[1:], model, names)


def _sqlalchemy_session(call: ast.Call, names: Names = PLAIN) -> Operation | None:
    """`session.add(M(...))`, `session.scalar(select(M)...)`, `session.execute(select(M)...).first()`."""
    name = _call_name(call)
    receiver = _receiver(call)
    # merge() of a new object inserts it as add() does (where a guard found no row, that is all it does)
    if name in ("add", "merge") and is_session(receiver) and len(call.args) == 1 and isinstance(call.args[0], ast.Call):
        model = names.model(call.args[0].func)
        return Operation(INSERT, insert_sql(model, field_names(call.args[0])), call, name) if model else None
    if name == "get" and is_session(receiver) and len(call.args) == 2 and not call.keywords and (model := names.model(call.args[0])):
        if not isinstance(call.args[1], (ast.Tuple, ast.List, ast.Dict)):  # session.get(Model, k)
            return Operation(READ, select_sql(model, Lookup((PRIMARY_KEY,))), call, name)
    inner = call
    if name in SQLALCHEMY_READS and isinstance(receiver, ast.Call):  # session.execute(select(...)).first()
        inner = receiver
    if _call_name(inner) in SESSION_READS and is_session(_receiver(inner)) and inner.args:
        selected = _select_statement(inner.args[0], names)
        if selected:
            return Operation(READ, select_sql(*selected), call, name)
    return None


def _peewee(call: ast.Call, names: Names = PLAIN) -> Operation | None:
    """peewee: `Model.get_or_none(Model.k == x)`, `Model.get(k=x)`, `Model.create(k=x)`,
    `Model.select().where(Model.k == x).exists()` (or `.first()` / `.get()`)."""
    name = _call_name(call)
    model = names.model(_receiver(call))
    if model and name == "get_or_none":
        return Operation(READ, select_sql(model, _peewee_lookup(call, model, names)), call, name)
    if model and name == "get" and (call.args or call.keywords) and all(isinstance(a, ast.Compare) for a in call.args) \
            and all(k.arg for k in call.keywords):
        return Operation(READ, select_sql(model, _peewee_lookup(call, model, names)), call, name)
    if model and name == "create" and call.keywords and not call.args:  # with **attrs: fields not all known
        return Operation(INSERT, insert_sql(model, field_names(call)), call, name)
    calls = _chain(call)
    if len(calls) >= 2 and _call_name(calls[0]) == "select" and isinstance(calls[0].func, ast.Attribute) and name in PEEWEE_QUERY_ENDS \
            and (model := names.model(calls[0].func.value)) and all(_call_name(c) in PEEWEE_QUERY_STEPS for c in calls[1:-1]):
        lookup = Lookup(())
        for step in calls[1:]:
            if _call_name(step) in ("where", "filter", "get"):
                lookup = lookup + _peewee_lookup(step, model, names)
        return Operation(READ, select_sql(model, lookup), call, name)
    return None


PEEWEE_QUERY_ENDS = {"exists", "first", "get", "get_or_none", "count"}
PEEWEE_QUERY_STEPS = {"where", "filter", "join", "switch", "limit", "order_by"}


def _peewee_lookup(call: ast.Call, model: str, names: Names) -> Lookup:
    """`get(Model.k == x, other=y)`: the compared fields, and keyword fields (equality)."""
    return _keyword_lookup(call) + _compared_lookup(call.args, model, names)


# What a database handle is called where code hands it a table name and a row object:
# `await (conn or db).insert("accounts", account)` (lnbits' Database.insert, dataset-like APIs).
DB_HANDLES = {"db", "conn", "connection", "database"}
TABLE_NAME = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)?")


def _db_handle(node: ast.AST | None) -> bool:
    if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or):
        return all(_db_handle(value) for value in node.values)  # `conn or db`
    return _last_name(node).lower() in DB_HANDLES


def _table_insert(call: ast.Call) -> Operation | None:
    """`db.insert("accounts", account)`: an insert into that table of a row whose columns are
    the object's fields (not known here: the neutral form says DEFAULT VALUES, which the idiom
    reader takes as "writes whatever the lookup matched")."""
    if _call_name(call) != "insert" or len(call.args) < 2 or not _db_handle(_receiver(call)):
        return None
    table = call.args[0]
    if not (isinstance(table, ast.Constant) and isinstance(table.value, str) and TABLE_NAME.fullmatch(table.value)):
        return None
    return Operation(INSERT, neutral_insert_sql(table.value, ()), call, "insert")


# A database wrapper's query methods that take the SQL itself (`await db.fetchone("SELECT ...",
# values)`), unlike a cursor's fetchone() after execute().
SQL_FETCHES = {"fetchone", "fetchall"}


def _literal_fetch(call: ast.Call) -> Operation | None:
    """`db.fetchone("SELECT * FROM t WHERE k = :k", ...)`: a read of that literal SELECT."""
    if _call_name(call) not in SQL_FETCHES or not call.args:
        return None
    sql = call.args[0]
    if isinstance(sql, ast.Constant) and isinstance(sql.value, str) and _FIRST_WORD.match(sql.value) and _FIRST_WORD.match(sql.value)[1].upper() == "SELECT":
        return Operation(READ, sql.value, call, _call_name(call))
    return None


def raw_sql_operation(call: ast.Call, known_sql: Mapping[tuple[int, int], str | None]) -> Operation | None:
    """An execute call by its SQL, as the execute-call extractor already folded it (keyed by
    the call's line and 1-based column): no second folding, no scope to build."""
    name = _call_name(call)
    sql = known_sql.get((call.lineno, call.col_offset + 1)) if name in EXECUTE_NAMES else None
    if sql is None:
        return None
    word = _FIRST_WORD.match(sql)
    if word is None or word[1].upper() == "WITH":
        return None
    kind = {"SELECT": READ, "INSERT": INSERT, "UPDATE": UPDATE, "DELETE": DELETE}[word[1].upper()]
    return Operation(kind, sql, call, name)


# The last called name of every call this module recognises: anything else is skipped at once.
OPERATION_NAMES = (
    EXECUTE_NAMES | DJANGO_READS | SQLALCHEMY_READS | SESSION_READS
    | {"create", "acreate", "add", "merge", "update", "aupdate", "delete", "adelete", "get_or_none", "insert"} | SQL_FETCHES
    | PEEWEE_QUERY_ENDS
)


def operation(call: ast.Call, known_sql: Mapping[tuple[int, int], str | None], names: Names = PLAIN) -> Operation | None:
    """What one call does to rows, if it is a call we know; `names` says what `cls` / `self` are."""
    if _call_name(call) not in OPERATION_NAMES:
        return None
    return (
        raw_sql_operation(call, known_sql)
        or _django(call, names)
        or _sqlalchemy_query(call, names)
        or _sqlalchemy_session(call, names)
        or _peewee(call, names)
        or _table_insert(call)
        or _literal_fetch(call)
    )
