"""peewee upserts as write sites, written as the SQL they compile to.

    Stat.insert(key=k, n=1).on_conflict(conflict_target=[Stat.key], update={Stat.n: Stat.n + 1}).execute()

becomes `INSERT INTO "<model:Stat>" ("<field:Stat.key>", ...) VALUES (...) ON CONFLICT
("<field:Stat.key>") DO UPDATE SET ...`; `on_conflict_ignore()` is `INSERT OR IGNORE` (the
neutral form `orm_dialects` turns into each database's), `replace()` / `replace_many()` /
`on_conflict_replace()` are `INSERT OR REPLACE` (REPLACE on MySQL/MariaDB: the same delete
and insert).
The model reader fills the placeholders in (see neutral_sql.resolve_models).
"""

from __future__ import annotations

import ast

from auditor.python.constants import Scope
from auditor.python.neutral_sql import column_list, insert_sql, model_field, model_table, model_values, on_conflict_sql
from auditor.python.sqlalchemy_upserts import NotAnUpsert, method_chain

INSERTS = {"insert", "insert_many", "replace", "replace_many"}


def _field(node: ast.expr, model: str) -> str:
    if isinstance(node, ast.Attribute):
        return model_field(model, node.attr)
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return model_field(model, node.value)
    raise NotAnUpsert(f"field {ast.unparse(node)[:40]} is not a name")


def _action(conflict: ast.Call | None) -> str | None:
    """on_conflict("replace") / on_conflict(action="ignore"), upper-cased."""
    if conflict is None:
        return None
    node = conflict.args[0] if conflict.args else next((k.value for k in conflict.keywords if k.arg == "action"), None)
    return node.value.upper() if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def peewee_upsert_sql(execute: ast.Call, scope: Scope | None) -> str | None:
    """`<query>.execute()` of a peewee insert with on_conflict(...); None for anything else."""
    if not isinstance(execute.func, ast.Attribute) or execute.args:
        return None
    try:
        chain = method_chain(execute.func.value, scope)
    except NotAnUpsert:
        return None
    if not chain or not isinstance(chain[0].func, ast.Attribute) or chain[0].func.attr not in INSERTS:
        return None
    root = chain[0]
    if not isinstance(root.func.value, ast.Name):
        return None
    model = root.func.value.id
    methods = {c.func.attr: c for c in chain[1:] if isinstance(c.func, ast.Attribute)}
    table = model_table(model)
    columns = [model_field(model, k.arg) for k in root.keywords if k.arg]

    def row(verb: str) -> str:  # the fields the call names, else every column the model writes
        return insert_sql(table, columns, verb) if columns else f"{verb} {table} {model_values(model)}"

    conflict = methods.get("on_conflict")
    action = _action(conflict)
    if root.func.attr.startswith("replace") or "on_conflict_replace" in methods or action == "REPLACE":
        return row("INSERT OR REPLACE INTO")
    if "on_conflict_ignore" in methods or action == "IGNORE":
        return row("INSERT OR IGNORE INTO")
    if conflict is None:
        return None
    arguments = {k.arg: k.value for k in conflict.keywords if k.arg}
    target = arguments.get("conflict_target")
    if not isinstance(target, (ast.List, ast.Tuple)):
        raise NotAnUpsert("conflict_target is not a list of fields")
    targets = [_field(e, model) for e in target.elts]
    assigned = [_field(e, model) for e in getattr(arguments.get("preserve"), "elts", [])]
    update = arguments.get("update")
    if isinstance(update, ast.Dict):
        assigned += [_field(k, model) for k in update.keys if k is not None]
    if root.func.attr.endswith("_many"):  # rows given as data: every column they update is inserted too
        columns += assigned
    columns = list(dict.fromkeys(columns + targets))
    return insert_sql(table, columns) + on_conflict_sql(column_list(targets), list(dict.fromkeys(assigned)))
