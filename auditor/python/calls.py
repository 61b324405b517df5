"""The execute-call visitor: one pass over a module's tree, one SqlCall per execute-like call.

Which calls: any call of a method or function named like a DB-API / asyncpg /
SQLAlchemy execution entry point (EXECUTE_NAMES), whatever the receiver; the SQL
is its first argument (second for psycopg2.extras' execute_values/execute_batch,
which take the cursor first), or a `query=` / `sql=` / `operation=` /
`statement=` keyword. Strings anywhere else (docstrings, comments, logging,
unrelated constants) are never looked at.
"""

from __future__ import annotations

import ast

from auditor.model import Location
from auditor.python.constants import ConstantFolder, Folded, NotSql, Scope
from auditor.python.modules import ModuleInfo
from auditor.sites import SqlCall

SQL_FIRST = {"execute", "executemany", "executescript", "fetch", "fetchrow", "fetchval", "mogrify", "exec_driver_sql"}
SQL_SECOND = {"execute_values", "execute_batch"}  # psycopg2.extras: (cursor, sql, args)
SQL_KEYWORDS = ("query", "sql", "operation", "statement")
EXECUTE_NAMES = SQL_FIRST | SQL_SECOND


def sql_argument(call: ast.Call, name: str) -> ast.expr | None:
    position = 1 if name in SQL_SECOND else 0
    if len(call.args) > position and not isinstance(call.args[position], ast.Starred):
        return call.args[position]
    return next((k.value for k in call.keywords if k.arg in SQL_KEYWORDS), None)


def location(module: ModuleInfo, node: ast.AST) -> Location:
    return Location(module.path, node.lineno, node.col_offset + 1)


class ExecuteCallVisitor(ast.NodeVisitor):
    def __init__(self, folder: ConstantFolder, module: ModuleInfo, driver: str | None):
        self.folder = folder
        self.module = module
        self.driver = driver
        self.scopes: list[Scope | None] = [None]
        self.calls: list[SqlCall] = []

    def _visit_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.scopes.append(Scope.of_function(node))
        self.generic_visit(node)
        self.scopes.pop()

    visit_FunctionDef = _visit_function
    visit_AsyncFunctionDef = _visit_function

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
        if name in EXECUTE_NAMES:
            argument = sql_argument(node, name)
            if argument is not None:
                self._record(node, name, argument)
        self.generic_visit(node)

    def _record(self, node: ast.Call, name: str, argument: ast.expr) -> None:
        result = self.folder.fold(argument, self.module, self.scopes[-1])
        if isinstance(result, NotSql):
            return
        here = location(self.module, node)
        if isinstance(result, Folded):
            origin = location(result.module, result.node) if result.via_name else None
            self.calls.append(SqlCall(here, name, result.value, origin=origin, driver=self.driver))
        else:
            self.calls.append(SqlCall(here, name, None, unresolved_reason=result.reason, driver=self.driver))
