"""SQLAlchemy upsert constructs as write sites: the statement they compile to, written as SQL.

    stmt = insert(AvatarConfiguration).values(user_id=uid, persona=p)
    session.execute(stmt.on_conflict_do_update(index_elements=["user_id"], set_={"persona": p}))

becomes `INSERT INTO "<model:AvatarConfiguration>" (user_id, persona) VALUES (?, ?) ON CONFLICT
(user_id) DO UPDATE SET persona = EXCLUDED.persona`, so the same parser and rules check it. The
table is a placeholder naming the model class (or Table variable): which table that is, the
schema readers know, and the engine fills it in (see `neutral_sql.resolve_models`). Statements built
across several assignments in one function are followed through the function's scope.
"""

from __future__ import annotations

import ast
from auditor.python.constants import Scope
from auditor.python.neutral_sql import column_list, insert_sql, model_table, on_conflict_sql

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
    if isinstance(node, ast.Name) and scope and scope.assigned_once and node.id in scope.assigned_once:
        return method_chain(scope.assigned_once[node.id], scope, depth + 1)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        receiver = node.func.value
        local = isinstance(receiver, ast.Name) and scope is not None and receiver.id in (scope.assigned_once or {})
        if isinstance(receiver, ast.Call) or local:
            return method_chain(receiver, scope, depth + 1) + [node]
        return [node]  # `sqlite.insert(...)`: a module's function starts the chain
    if isinstance(node, ast.Call):
        return [node]
    raise NotAnUpsert("not a statement construct")


def _name(node: ast.expr) -> str:
    """A column given as "name", Model.name or table.c.name."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Attribute):
        return node.attr
    raise NotAnUpsert(f"column {ast.unparse(node)[:40]} is not a name")


def _names(node: ast.expr | None) -> list[str]:
    if node is None:
        return []
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_name(e) for e in node.elts]
    raise NotAnUpsert("index_elements is not a list")


def _keys(node: ast.expr | None) -> list[str]:
    """Keys of a dict literal or dict(...) call, for values() and set_=."""
    if node is None:
        return []
    if isinstance(node, ast.Dict) and all(k is not None for k in node.keys):
        return [_name(k) for k in node.keys]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict":
        return [k.arg for k in node.keywords if k.arg]
    raise NotAnUpsert("values are not a literal dict")


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
    values = methods.get("values")
    columns = [k.arg for k in values.keywords if k.arg] if values is not None else []
    if values is not None and values.args:
        columns = _keys(values.args[0])
    head = insert_sql(table, columns, PREFIXES[prefix] if prefix else "INSERT INTO")
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
        elements = _names(arguments.get("index_elements"))
        where = arguments.get("index_where")
        target = " ".join(
            part for part in (column_list(elements) if elements else "", f"WHERE {predicate_sql(where)}" if where is not None else "") if part
        )
    if upsert.func.attr == "on_conflict_do_nothing":
        return head + on_conflict_sql(target, [])
    assigned = _keys(arguments.get("set_"))
    if not assigned:
        raise NotAnUpsert("set_= is not a literal dict")
    return head + on_conflict_sql(target, assigned)
