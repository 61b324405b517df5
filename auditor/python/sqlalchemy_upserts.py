"""SQLAlchemy upsert constructs as write sites: the statement they compile to, written as SQL.

    stmt = insert(AvatarConfiguration).values(user_id=uid, persona=p)
    session.execute(stmt.on_conflict_do_update(index_elements=["user_id"], set_={"persona": p}))

becomes `INSERT INTO "<model:AvatarConfiguration>" (user_id, persona) VALUES (?, ?) ON CONFLICT
(user_id) DO UPDATE SET persona = ?`, so the same parser and rules check it. The table is a
placeholder naming the model class (or Table variable): which table that is, the schema readers
know, and the engine fills it in (see `neutral_sql.resolve_models`). Statements built across
several assignments in one function are followed through the function's scope.

Use what is known: rows given as a variable, `set_=` keys or values the code computes, an
`index_elements` list built elsewhere are holes (`auditor.sql.holes.HOLE`), so the table and the
parts that are known are still checked. `set_` values are written as the code gives them
(`stmt.excluded.c` -> `EXCLUDED.c`, `func.now()` -> `now()`, a Python value -> `?`), never
invented.
"""

from __future__ import annotations

import ast

from auditor.python.constants import Scope
from auditor.python.neutral_sql import column_list, conflict_head, insert_sql, model_table, on_conflict_sql
from auditor.sql.holes import HOLE

UPSERT_METHODS = {"on_conflict_do_update", "on_conflict_do_nothing", "on_duplicate_key_update"}
INSERT_BUILDERS = {"insert", "pg_insert", "sqlite_insert", "mysql_insert"}
# prefix_with(...) texts that make an INSERT an upsert of sorts, and the SQL they give.
PREFIXES = {"OR REPLACE": "INSERT OR REPLACE INTO", "OR IGNORE": "INSERT OR IGNORE INTO", "IGNORE": "INSERT IGNORE INTO"}
COMPARISONS = {ast.Eq: "=", ast.NotEq: "<>", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}


class NotAnUpsert(Exception):
    pass


def method_chain(node: ast.expr, scope: Scope | None, depth: int = 0) -> list[ast.Call]:
    """The calls of `a(...).b(...).c(...)`, innermost first, following local names; the
    chain starts at a call on anything else (`sqlite.insert(...)`, `Model.insert(...)`).
    Shared by the SQLAlchemy and peewee readers."""
    if depth > 10:
        raise NotAnUpsert("statement built too deep")
    if isinstance(node, ast.Name) and local_value(node, scope) is not None:
        return method_chain(local_value(node, scope), scope, depth + 1)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        receiver = node.func.value
        local = isinstance(receiver, ast.Name) and local_value(receiver, scope) is not None
        if isinstance(receiver, ast.Call) or local:
            return method_chain(receiver, scope, depth + 1) + [node]
        return [node]  # `sqlite.insert(...)`: a module's function starts the chain
    if isinstance(node, ast.Call):
        return [node]
    raise NotAnUpsert("not a statement construct")


def local_value(name: ast.Name, scope: Scope | None) -> ast.expr | None:
    """The one expression a local name holds where it is used (`stmt = insert(T)...; stmt =
    stmt.on_conflict_do_update(...)` is followed step by step); None if not exactly one."""
    if scope is None:
        return None
    values = scope.reaching(name.id, name)
    if values and len(values) == 1 and isinstance(values[0], ast.expr):
        return values[0]
    return None


def _name(node: ast.expr) -> str:
    """A column given as "name", Model.name or table.c.name."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Attribute):
        return node.attr
    raise NotAnUpsert(f"column {ast.unparse(node)[:40]} is not a name")


def _names(node: ast.expr | None, scope: Scope | None) -> list[str]:
    """index_elements: a list of columns, or one hole when it is not written out here."""
    if node is None:
        return []
    if isinstance(node, ast.Name) and local_value(node, scope) is not None:
        node = local_value(node, scope)
    if isinstance(node, (ast.List, ast.Tuple)):
        try:
            return [_name(e) for e in node.elts]
        except NotAnUpsert:
            return [HOLE]
    return [HOLE]


def _items(node: ast.expr | None, scope: Scope | None) -> list[tuple[str, ast.expr | None]] | None:
    """(column, value) of a dict literal, dict(...) call or a local holding one, for values()
    and set_=; a column that is not a name is a hole; None when the dict is not written out."""
    if isinstance(node, ast.Name) and local_value(node, scope) is not None:
        node = local_value(node, scope)
    if isinstance(node, ast.Dict) and all(k is not None for k in node.keys):
        return [(_column_or_hole(k), v) for k, v in zip(node.keys, node.values)]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict" and not node.args:
        return [(k.arg, k.value) if k.arg else (HOLE, None) for k in node.keywords]
    return None


def _column_or_hole(node: ast.expr) -> str:
    try:
        return _name(node)
    except NotAnUpsert:
        return HOLE


def _inserted_columns(values: ast.Call | None, scope: Scope | None) -> list[str]:
    """Columns of .values(a=..., b=...), .values({...}), .values([{...}, ...]); [HOLE] when the
    rows are a variable or built at run time."""
    if values is None:
        return []
    if not values.args:
        return [k.arg if k.arg else HOLE for k in values.keywords]
    rows = values.args[0]
    if isinstance(rows, ast.Name) and local_value(rows, scope) is not None:
        rows = local_value(rows, scope)
    if isinstance(rows, (ast.List, ast.Tuple)) and rows.elts:
        rows = rows.elts[0]  # executemany-style rows: the first one's keys
    items = _items(rows, scope)
    return [HOLE] if items is None else [c for c, _ in items]


def _value_sql(node: ast.expr | None, table: str) -> str:
    """A set_= value as the SQL it compiles to: `stmt.excluded.c` -> EXCLUDED.c, `func.now()` ->
    now(), a constant -> its literal, `Model.c` -> the row's own column, arithmetic of these;
    any other Python value is a bind parameter (?)."""
    if node is None:
        return HOLE
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute) and node.value.attr == "excluded":
        return f"EXCLUDED.{node.attr}"
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute) and node.value.attr == "excluded":
        key = node.slice
        return f"EXCLUDED.{key.value}" if isinstance(key, ast.Constant) and isinstance(key.value, str) else HOLE
    if isinstance(node, ast.Constant):
        try:
            return _literal(node)
        except NotAnUpsert:
            return "?"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and _is_func(node.func.value):
        return f"{node.func.attr}({', '.join(_value_sql(a, table) for a in node.args)})"
    if isinstance(node, ast.BinOp) and type(node.op) in ARITHMETIC:
        return f"({_value_sql(node.left, table)} {ARITHMETIC[type(node.op)]} {_value_sql(node.right, table)})"
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id[:1].isupper():
        return f"{table}.{node.attr}"  # Model.counter: the stored row's value
    return "?"


def _is_func(node: ast.expr) -> bool:
    """`func` or `sa.func` / `sqlalchemy.func`: SQL functions by name."""
    return (isinstance(node, ast.Name) and node.id == "func") or (isinstance(node, ast.Attribute) and node.attr == "func")


ARITHMETIC = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}


def _prefix(call: ast.Call | None) -> str | None:
    """The upsert-like prefix_with("OR IGNORE" | "OR REPLACE" | "IGNORE"), upper-cased; else None."""
    if call is None or not call.args or not isinstance(call.args[0], ast.Constant) or not isinstance(call.args[0].value, str):
        return None
    text = " ".join(call.args[0].value.upper().split())
    return text if text in PREFIXES else None


def _table_placeholder(node: ast.expr) -> str:
    if isinstance(node, ast.Attribute) and node.attr == "__table__":
        node = node.value
    if isinstance(node, ast.Name):
        return model_table(node.id)
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return model_table(node.attr)
    raise NotAnUpsert("insert() of something other than a model or table name")


def _literal(node: ast.expr) -> str:
    if isinstance(node, ast.Constant) and node.value is None:
        return "NULL"
    if isinstance(node, ast.Constant) and isinstance(node.value, bool):
        return "TRUE" if node.value else "FALSE"
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        return repr(node.value)
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return "'" + node.value.replace("'", "''") + "'"
    raise NotAnUpsert("index_where compares with a run-time value")


def predicate_sql(node: ast.expr) -> str:
    """index_where=... as SQL: `Model.c == 'x'`, `.is_(None)` / `.is_not(None)`, `and_(...)`,
    `text("...")`; anything else cannot be read statically."""
    if isinstance(node, ast.Call) and isinstance(node.func, (ast.Name, ast.Attribute)):
        function = node.func.id if isinstance(node.func, ast.Name) else node.func.attr
        if function == "text" and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            return node.args[0].value
        if function in ("and_", "or_") and node.args:
            return "(" + f" {function[:-1].upper()} ".join(predicate_sql(a) for a in node.args) + ")"
        if function in ("is_", "is_not", "isnot") and isinstance(node.func, ast.Attribute) and len(node.args) == 1:
            return f"{_name(node.func.value)} {'IS' if function == 'is_' else 'IS NOT'} {_literal(node.args[0])}"
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in COMPARISONS:
        return f"{_name(node.left)} {COMPARISONS[type(node.ops[0])]} {_literal(node.comparators[0])}"
    raise NotAnUpsert(f"index_where {ast.unparse(node)[:40]} is not a comparison we can read")


def _set_clause(node: ast.expr | None, table: str, scope: Scope | None) -> str:
    """` DO UPDATE SET c = <value>, ...` from set_=, as the code writes it; the whole SET one
    hole when set_ is not written out here."""
    items = _items(node, scope)
    if items is None:
        return f" DO UPDATE SET {HOLE}"
    if not items:
        raise NotAnUpsert("set_= names no column")
    return " DO UPDATE SET " + ", ".join(HOLE if c == HOLE else f"{c} = {_value_sql(v, table)}" for c, v in items)


def _duplicate_key_update(upsert: ast.Call) -> str:
    """on_duplicate_key_update(c=stmt.inserted.c, ...) or ({...}) as ODKU SQL."""
    items = [(k.arg, k.value) for k in upsert.keywords if k.arg]
    if upsert.args:
        node = upsert.args[0]
        if not isinstance(node, ast.Dict) or any(k is None for k in node.keys):
            raise NotAnUpsert("on_duplicate_key_update() takes a dict we cannot read")
        items += [(_name(k), v) for k, v in zip(node.keys, node.values)]
    if not items:
        raise NotAnUpsert("on_duplicate_key_update() names no column")

    def value(node: ast.expr) -> str:
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute) and node.value.attr == "inserted":
            return f"VALUES({node.attr})"
        return "?"

    return "ON DUPLICATE KEY UPDATE " + ", ".join(f"{c} = {value(v)}" for c, v in items)


def upsert_call(node: ast.expr, scope: Scope | None) -> ast.Call | None:
    """The on_conflict_do_*(...) / on_duplicate_key_update(...) call of a construct: the place
    that holds its conflict target, where a finding's SQL is written."""
    try:
        chain = method_chain(node, scope)
    except NotAnUpsert:
        return None
    return next((c for c in reversed(chain) if isinstance(c.func, ast.Attribute) and c.func.attr in UPSERT_METHODS), None)


def orm_upsert_sql(node: ast.expr, scope: Scope | None) -> str | None:
    """The SQL an insert(...).on_conflict_do_*(...) construct compiles to; None if `node` is
    not such a construct. Raise NotAnUpsert when it is one whose parts we cannot read."""
    try:
        chain = method_chain(node, scope)
    except NotAnUpsert:
        return None
    root, methods = chain[0], {c.func.attr: c for c in chain[1:] if isinstance(c.func, ast.Attribute)}
    root_name = root.func.attr if isinstance(root.func, ast.Attribute) else getattr(root.func, "id", None)
    upsert = next((methods[m] for m in UPSERT_METHODS if m in methods), None)
    prefix = _prefix(methods.get("prefix_with"))
    if root_name not in INSERT_BUILDERS or (upsert is None and prefix is None) or not root.args:
        return None
    table = _table_placeholder(root.args[0])
    columns = _inserted_columns(methods.get("values"), scope)
    verb = PREFIXES[prefix] if prefix else "INSERT INTO"
    head = f"{verb} {table} ({HOLE}) VALUES ({HOLE})" if HOLE in columns else insert_sql(table, columns, verb)
    if upsert is None:
        return head
    if upsert.func.attr == "on_duplicate_key_update":
        return f"{head} {_duplicate_key_update(upsert)}"
    arguments = {k.arg: k.value for k in upsert.keywords if k.arg}
    constraint = arguments.get("constraint")
    if constraint is not None:
        if not (isinstance(constraint, ast.Constant) and isinstance(constraint.value, str)):
            raise NotAnUpsert("constraint= is not a literal name")
        target = f'ON CONSTRAINT "{constraint.value}"'
    else:
        elements = _names(arguments.get("index_elements"), scope)
        where = arguments.get("index_where")
        target = " ".join(
            part for part in (column_list(elements) if elements else "", f"WHERE {predicate_sql(where)}" if where is not None else "") if part
        )
    if upsert.func.attr == "on_conflict_do_nothing":
        return head + on_conflict_sql(target, [])
    return head + conflict_head(target) + _set_clause(arguments.get("set_"), table, scope)
