"""Django `bulk_create` upserts as write sites, written as the SQL they compile to.

    Preference.objects.bulk_create(rows, update_conflicts=True,
                                   unique_fields=["account", "key"], update_fields=["value"])

becomes `INSERT INTO "<model:Preference>" ("<field:Preference.account>", ...) VALUES (...)
ON CONFLICT (...) DO UPDATE SET ... = EXCLUDED....`; `ignore_conflicts=True` is `INSERT OR
IGNORE`. Both are the neutral forms `orm_dialects` turns into what Django emits on the site's
database (ON CONFLICT DO NOTHING on PostgreSQL, INSERT IGNORE and ON DUPLICATE KEY UPDATE on
MySQL/MariaDB). Which table and columns the placeholders stand for, the Django
model reader knows (a ForeignKey `account` is the column `account_id`); the engine fills
them in. A bulk_create without either flag is a plain insert: not a site.
"""

from __future__ import annotations

import ast

from auditor.python.neutral_sql import column_list, insert_sql, model_field, model_table, model_values, on_conflict_sql
from auditor.python.sqlalchemy_upserts import NotAnUpsert


def _model(call: ast.Call) -> str:
    """`Preference.objects.bulk_create` -> Preference (any manager attribute)."""
    manager = call.func.value if isinstance(call.func, ast.Attribute) else None
    if isinstance(manager, ast.Attribute) and isinstance(manager.value, ast.Name):
        return manager.value.id
    raise NotAnUpsert("bulk_create on something other than Model.<manager>")


def _fields(node: ast.expr | None, what: str) -> list[str]:
    if isinstance(node, (ast.List, ast.Tuple)) and all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts):
        return [e.value for e in node.elts]
    raise NotAnUpsert(f"{what} is not a list of field names")


def _true(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


def bulk_create_sql(call: ast.Call) -> str | None:
    """The upsert a bulk_create performs; None for a plain bulk insert."""
    arguments = {k.arg: k.value for k in call.keywords if k.arg}
    if not (_true(arguments.get("update_conflicts")) or _true(arguments.get("ignore_conflicts"))):
        return None
    model = _model(call)
    table = model_table(model)
    if _true(arguments.get("ignore_conflicts")):
        return f"INSERT OR IGNORE INTO {table} {model_values(model)}"
    unique = [model_field(model, f) for f in _fields(arguments.get("unique_fields"), "unique_fields")] if "unique_fields" in arguments else []
    update = [model_field(model, f) for f in _fields(arguments.get("update_fields"), "update_fields")]
    return insert_sql(table, list(dict.fromkeys(unique + update))) + on_conflict_sql(column_list(unique) if unique else "", update)
