"""Small readings of a module's `ast` that the codemod's planning shares."""

from __future__ import annotations

import ast
import json


class CannotRewrite(Exception):
    """The idiom is left to a person; the message says why."""


def unawait(node: ast.expr) -> ast.expr:
    return node.value if isinstance(node, ast.Await) else node


def same(a: ast.expr, b: ast.expr) -> bool:
    """The same expression, as written (so it evaluates to the same value in the same place)."""
    return ast.dump(a) == ast.dump(b)


def calls_at(tree: ast.AST, line: int, column: int, outermost: bool = False) -> ast.Call:
    """The call at a location. A chain starts all its calls there: the innermost is the
    statement call (`conn.execute(...)` of `conn.execute(...).fetchone()`), the outermost the
    whole ORM query (`...filter_by(...).first()`)."""
    found = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and n.lineno == line and n.col_offset + 1 == column]
    if not found:
        raise CannotRewrite("the call was not found in the file as read")
    return found[0] if outermost else found[-1]


def enclosing(tree: ast.AST, target: ast.AST, types: tuple[type, ...]) -> tuple[list[ast.stmt], int]:
    """The innermost statement of one of `types` that contains `target`: its block and index."""
    found: tuple[list[ast.stmt], int] | None = None
    depth = -1
    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    while stack:
        node, level = stack.pop()
        for _field, value in ast.iter_fields(node):
            if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
                for index, statement in enumerate(value):
                    if any(n is target for n in ast.walk(statement)):
                        if isinstance(statement, types) and level > depth:
                            found, depth = (value, index), level
                        stack.append((statement, level + 1))
            elif isinstance(value, list):
                stack.extend((item, level + 1) for item in value if isinstance(item, ast.excepthandler))
    if found is None:
        raise CannotRewrite("the statement was not found")
    return found


def only_call(statements: list[ast.stmt]) -> ast.Call | None:
    """The call of a block that is exactly one `call(...)` / `await call(...)` statement."""
    if len(statements) != 1 or not isinstance(statements[0], ast.Expr):
        return None
    value = unawait(statements[0].value)
    return value if isinstance(value, ast.Call) else None


def assigned_call(statement: ast.stmt) -> ast.Call | None:
    """The call of `name = call(...)` / `name = await call(...)`."""
    if isinstance(statement, ast.Assign) and isinstance(unawait(statement.value), ast.Call):
        return unawait(statement.value)
    return None


def names_used(statements: list[ast.stmt]) -> set[str]:
    return {n.id for s in statements for n in ast.walk(s) if isinstance(n, ast.Name)}


def stored_names(statements: list[ast.stmt]) -> set[str]:
    return {n.id for s in statements for n in ast.walk(s) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}


def is_pass(statements: list[ast.stmt]) -> bool:
    return not statements or (len(statements) == 1 and isinstance(statements[0], ast.Pass))


def python_literal(text: str) -> str:
    """`text` as a double-quoted Python string literal (JSON's escapes are Python's too)."""
    return json.dumps(text, ensure_ascii=False)


def python_literals(items: list[str]) -> str:
    return "[" + ", ".join(map(python_literal, items)) + "]"


def upsert_record_call(helper: str, connection: str, table: str, values: dict[str, str], conflict: list[str], update: list[str]) -> str:
    """The helper call a rewrite writes; `connection`, `table` and the values are Python source."""
    pairs = ", ".join(f"{python_literal(c)}: {e}" for c, e in values.items())
    return f"{helper}({connection}, {table}, {{{pairs}}}, conflict={python_literals(conflict)}, update={python_literals(update)})"
