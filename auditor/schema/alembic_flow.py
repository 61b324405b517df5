"""Control flow in an Alembic revision: which of its branches the database would run.

Revisions branch on three things, and each is read the way a replay from an empty
database would run it:
- the dialect (`bind.engine.name == "mysql"`, `op.get_context().dialect.name != "sqlite"`,
  `str(bind.engine.url).startswith("postgres")`, `is_postgres()`): the catalog's dialect
  decides, so only the branch that dialect runs is read;
- what the database already has (`if "col" not in columns`, `if not has_table("t")`,
  `try: ... except: pass`): an idempotency guard, read as if it lets the operation run
  (the earlier revisions decide whether it is there), stated in a `schema-assumption`
  diagnostic;
- data (`for row in conn.execute(...)`, `while remaining() > 0`): a block that performs no
  schema operation is data migration and is skipped silently; one that does is reported.
A `for` loop over a literal tuple (`for prefix in ("", "shadow_")`) is unrolled.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from auditor.dialects import MYSQL, POSTGRES, SQLITE
from auditor.schema.pysource import NotLiteral, dotted_name, literal

# SQLAlchemy's `dialect.name` and the start of a URL, per catalog dialect.
DIALECT_NAMES = {POSTGRES: "postgresql", SQLITE: "sqlite", MYSQL: "mysql"}
KNOWN_NAMES = {"postgresql", "sqlite", "mysql", "mariadb", "mssql", "oracle"}
# `is_postgres()`-style helpers that projects write around the dialect test.
HELPER = re.compile(r"^_?is_(postgres|postgresql|pg|sqlite|mysql)$")
HELPER_DIALECT = {"postgres": POSTGRES, "postgresql": POSTGRES, "pg": POSTGRES, "sqlite": SQLITE, "mysql": MYSQL}
# Calls that ask the database what it has (the guards of idempotent revisions).
EXISTENCE_CALL = re.compile(r"(^|_)(has|exists?|table_exists|column_exists|index_exists|constraint_exists)(_|$)", re.I)
# SQLAlchemy constructs handed to execute(): data, not schema.
DATA_CONSTRUCTS = {"insert", "update", "delete", "select", "values", "where", "returning", "execution_options", "filter", "bindparams"}
DDL_TEXT = re.compile(r"\b(create|alter|drop|rename)\b", re.I)


@dataclass(frozen=True)
class Scope:
    """What a condition can refer to: the module's constants and the function's own assignments."""

    constants: dict
    locals: dict  # name -> the expression last assigned to it at the function's top level

    def resolve(self, node: ast.expr, depth: int = 0) -> ast.expr:
        while isinstance(node, ast.Name) and node.id in self.locals and depth < 10:
            node, depth = self.locals[node.id], depth + 1
        return node


def function_locals(body: list[ast.stmt]) -> dict[str, ast.expr]:
    found: dict[str, ast.expr] = {}
    for statement in body:
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1 and isinstance(statement.targets[0], ast.Name):
            found[statement.targets[0].id] = statement.value
    return found


# --- the dialect -------------------------------------------------------------------------


def _dialect_value(node: ast.expr, scope: Scope) -> str | None:
    """'name' for an expression holding SQLAlchemy's dialect name, 'url' for the URL text."""
    node = scope.resolve(node)
    if isinstance(node, ast.Attribute) and node.attr == "name":
        owner = scope.resolve(node.value)
        if isinstance(owner, ast.Attribute) and owner.attr in ("dialect", "engine"):
            return "name"
    if isinstance(node, ast.Call) and dotted_name(node.func) == "str" and len(node.args) == 1:
        inner = scope.resolve(node.args[0])
        if isinstance(inner, ast.Attribute) and inner.attr == "url":
            return "url"
    return None


def _strings(node: ast.expr, scope: Scope) -> list[str] | None:
    try:
        found = literal(node, scope.constants)
    except NotLiteral:
        return None
    found = [found] if isinstance(found, str) else found
    return list(found) if isinstance(found, (list, tuple)) and all(isinstance(s, str) for s in found) else None


def dialect_test(node: ast.expr, scope: Scope, dialect: str) -> bool | None:
    """The value of a condition that tests the dialect; None when it tests anything else."""
    name = DIALECT_NAMES.get(dialect)
    if name is None:
        return None
    node = scope.resolve(node)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        inner = dialect_test(node.operand, scope, dialect)
        return None if inner is None else not inner
    if isinstance(node, ast.BoolOp):
        values = [dialect_test(v, scope, dialect) for v in node.values]
        if isinstance(node.op, ast.And):
            return False if False in values else (None if None in values else True)
        return True if True in values else (None if None in values else False)
    if isinstance(node, ast.Call):
        helper = HELPER.match(dotted_name(node.func) or "")
        if helper and not node.args:
            return HELPER_DIALECT[helper.group(1)] == dialect
        if isinstance(node.func, ast.Attribute) and node.func.attr == "startswith" and len(node.args) == 1:
            kind = _dialect_value(node.func.value, scope)
            prefixes = _strings(node.args[0], scope)
            if kind and prefixes and not (dialect == MYSQL and any(p.startswith("maria") for p in prefixes)):
                return name.startswith(tuple(prefixes))
        return None
    if isinstance(node, ast.Compare) and len(node.ops) == 1:
        left, op, right = node.left, node.ops[0], node.comparators[0]
        if isinstance(op, (ast.Is, ast.IsNot, ast.Eq, ast.NotEq)) and isinstance(right, ast.Constant) and isinstance(right.value, bool):
            inner = dialect_test(left, scope, dialect)
            if inner is None:
                return None
            return (inner == right.value) == isinstance(op, (ast.Is, ast.Eq))
        if _dialect_value(left, scope) != "name":
            left, right = right, left
        if _dialect_value(left, scope) != "name" or not isinstance(op, (ast.Eq, ast.NotEq, ast.In, ast.NotIn)):
            return None
        names = _strings(right, scope)
        if not names or any(n not in KNOWN_NAMES for n in names) or (dialect == MYSQL and "mariadb" in names):
            return None  # a MySQL-family server may call itself either: not decidable here
        return (name in names) == isinstance(op, (ast.Eq, ast.In))
    return None


def constant_test(node: ast.expr, scope: Scope) -> bool | None:
    """A condition on values known without running code (`if not prefix` in a loop over
    literal prefixes, `if TABLE == "x"`); None when any part is not known."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        inner = constant_test(node.operand, scope)
        return None if inner is None else not inner
    if isinstance(node, ast.BoolOp):
        values = [constant_test(v, scope) for v in node.values]
        if None in values:
            return None
        return all(values) if isinstance(node.op, ast.And) else any(values)
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in CONSTANT_COMPARISONS:
        try:
            left, right = literal(node.left, scope.constants), literal(node.comparators[0], scope.constants)
        except (NotLiteral, TypeError):
            return None
        try:
            return CONSTANT_COMPARISONS[type(node.ops[0])](left, right)
        except TypeError:
            return None
    try:
        found = literal(node, scope.constants)
    except NotLiteral:
        return None
    return bool(found) if isinstance(found, (str, int, bool, tuple, list)) or found is None else None


CONSTANT_COMPARISONS = {
    ast.Eq: lambda a, b: a == b, ast.NotEq: lambda a, b: a != b, ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b,
}


# --- guards and data ------------------------------------------------------------------------


def existence_guard(node: ast.expr) -> str | None:
    """The guard an idempotent revision puts around an operation, as source text; else None."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return existence_guard(node.operand)
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.ops[0], (ast.In, ast.NotIn)):
        if isinstance(node.left, ast.Constant) and isinstance(node.left.value, str):
            return ast.unparse(node)[:80]
    if isinstance(node, ast.Call) and EXISTENCE_CALL.search((dotted_name(node.func) or "").rsplit(".", 1)[-1]):
        return ast.unparse(node)[:80]
    return None


def is_data_construct(node: ast.expr) -> bool:
    """`table.update().where(...)`, `sa.insert(t).values(...)`: a data statement, never DDL."""
    while isinstance(node, ast.Call):
        name = dotted_name(node.func) or (node.func.attr if isinstance(node.func, ast.Attribute) else "")
        if name.rsplit(".", 1)[-1] in DATA_CONSTRUCTS:
            return True
        node = node.func.value if isinstance(node.func, ast.Attribute) else None
    return False


def is_ddl_text(node: ast.expr | None, scope: Scope) -> bool:
    """An execute() argument that is, or may be, DDL (anything not known to be data)."""
    if node is None:
        return False
    node = scope.resolve(node)
    if isinstance(node, ast.Call) and (dotted_name(node.func) or "").rsplit(".", 1)[-1] == "text" and node.args:
        node = scope.resolve(node.args[0])
    if is_data_construct(node):
        return False
    try:
        text = literal(node, scope.constants)
    except NotLiteral:
        return isinstance(node, (ast.JoinedStr, ast.BinOp)) and DDL_TEXT.search(ast.unparse(node)) is not None
    return isinstance(text, str) and DDL_TEXT.search(text) is not None


def schema_operations(block: list[ast.stmt], operations: set[str], scope: Scope) -> list[str]:
    """The schema operations a block performs (`execute` only when its SQL may be DDL)."""
    found = []
    for statement in block:
        for node in ast.walk(statement):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in operations:
                if node.func.attr != "execute" or is_ddl_text(node.args[0] if node.args else None, scope):
                    found.append(node.func.attr)
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "batch_alter_table":
                found.append("batch_alter_table")
    return found


def literal_loop(statement: ast.For, scope: Scope) -> list[dict[str, ast.expr]] | None:
    """Bindings of each iteration of `for x in ("a", "b")` / `for a, b in ((..), (..))`; None if not literal."""
    try:
        items = literal(scope.resolve(statement.iter), scope.constants)
    except NotLiteral:
        return None
    if isinstance(items, dict):
        items = list(items)
    if not isinstance(items, (list, tuple)):
        return None
    bindings = []
    for item in items:
        if isinstance(statement.target, ast.Name):
            bindings.append({statement.target.id: ast.Constant(item)})
        elif isinstance(statement.target, ast.Tuple) and all(isinstance(e, ast.Name) for e in statement.target.elts) \
                and isinstance(item, (list, tuple)) and len(item) == len(statement.target.elts):
            bindings.append({e.id: ast.Constant(v) for e, v in zip(statement.target.elts, item)})
        else:
            return None
    return bindings
