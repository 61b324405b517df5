"""Finding execute-like calls in a module's tree and folding their SQL argument.

Which calls: any call of a method or function named like a DB-API / asyncpg /
SQLAlchemy execution entry point (EXECUTE_NAMES), whatever the receiver; the SQL
is its first argument (second for psycopg2.extras' execute_values/execute_batch,
which take the cursor first), or a `query=` / `sql=` / `operation=` /
`statement=` keyword. Strings anywhere else (docstrings, comments, logging,
unrelated constants) are never looked at.

Speed: the byte pre-filter already told us which lines mention an execute-like
name. The walk descends only into statements whose line span contains such a
line, so a big module with two execute calls costs two small walks, not a visit
of every node (ast.NodeVisitor over whole trees was most of the audit's time).
"""

from __future__ import annotations

import ast
import bisect
import re
from typing import Iterator

from auditor.model import Location
from auditor.python.constants import ConstantFolder, Folded, NotSql, Scope
from auditor.python.modules import ModuleInfo
from auditor.sites import SqlCall

SQL_FIRST = {"execute", "executemany", "executescript", "fetch", "fetchrow", "fetchval", "mogrify", "exec_driver_sql"}
SQL_SECOND = {"execute_values", "execute_batch"}  # psycopg2.extras: (cursor, sql, args)
SQL_KEYWORDS = ("query", "sql", "operation", "statement")
EXECUTE_NAMES = SQL_FIRST | SQL_SECOND

_NAME_ON_LINE = re.compile(r"execute|fetch|mogrify")
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


def hit_lines(source: str) -> list[int]:
    """Sorted 1-based numbers of the lines that mention an execute-like name."""
    lines, line, pos = [], 1, 0
    for match in _NAME_ON_LINE.finditer(source):
        line += source.count("\n", pos, match.start())
        pos = match.start()
        if not lines or lines[-1] != line:
            lines.append(line)
    return lines


def _spans_hit(node: ast.AST, hits: list[int]) -> bool:
    i = bisect.bisect_left(hits, node.lineno)
    return i < len(hits) and hits[i] <= (node.end_lineno or node.lineno)


def _calls_in(node: ast.AST, function: ast.AST | None) -> Iterator[tuple[ast.Call, ast.AST | None]]:
    for child in ast.walk(node):
        if isinstance(child, ast.Call):
            yield child, function


def candidate_calls(tree: ast.Module, hits: list[int]) -> Iterator[tuple[ast.Call, ast.AST | None]]:
    """Every Call on a hit line's statement, with the function enclosing it (or None)."""

    def block(statements: list, function: ast.AST | None) -> Iterator[tuple[ast.Call, ast.AST | None]]:
        for statement in statements:
            if not _spans_hit(statement, hits):
                continue
            inner = statement if isinstance(statement, _FUNCTIONS) else function
            for _field, value in ast.iter_fields(statement):
                if isinstance(value, list):
                    bodies = [v for v in value if isinstance(v, (ast.stmt, ast.excepthandler, ast.match_case))]
                    if bodies:
                        yield from block(bodies, inner)
                    for v in value:
                        if isinstance(v, ast.expr):
                            yield from _calls_in(v, inner)
                elif isinstance(value, ast.expr):
                    yield from _calls_in(value, inner)

    yield from block(tree.body, None)


def sql_argument(call: ast.Call, name: str) -> ast.expr | None:
    position = 1 if name in SQL_SECOND else 0
    if len(call.args) > position and not isinstance(call.args[position], ast.Starred):
        return call.args[position]
    return next((k.value for k in call.keywords if k.arg in SQL_KEYWORDS), None)


def location(module: ModuleInfo, node: ast.AST) -> Location:
    return Location(module.path, node.lineno, node.col_offset + 1)


def execute_calls(tree: ast.Module, source: str, module: ModuleInfo, folder: ConstantFolder, driver: str | None) -> list[SqlCall]:
    scopes: dict[int, Scope] = {}  # built only for functions that hold an execute call
    calls: list[SqlCall] = []
    for node, function in candidate_calls(tree, hit_lines(source)):
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
        if name not in EXECUTE_NAMES:
            continue
        argument = sql_argument(node, name)
        if argument is None:
            continue
        scope = None
        if function is not None:
            scope = scopes.get(id(function)) or scopes.setdefault(id(function), Scope.of_function(function))
        result = folder.fold(argument, module, scope)
        if isinstance(result, NotSql):
            continue
        here = location(module, node)
        if isinstance(result, Folded):
            origin = location(result.module, result.node) if result.via_name else None
            calls.append(SqlCall(here, name, result.value, origin=origin, driver=driver))
        else:
            calls.append(SqlCall(here, name, None, unresolved_reason=result.reason, driver=driver))
    calls.sort(key=lambda c: (c.location.line, c.location.column))
    return calls
