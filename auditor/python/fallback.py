"""A LibCST pass for files the running Python's `ast` cannot parse.

LibCST's parser accepts newer grammar (PEP 695 generics, PEP 701 f-strings on
3.11). This pass is deliberately small: execute-like calls whose SQL is a string
literal, implicit concatenation or a module-level string constant; anything else
is reported unresolved. It runs only for such files, so its cost (about 11x
`ast.parse`) stays off the common path.
"""

from __future__ import annotations

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from auditor.model import Location
from auditor.python.calls import EXECUTE_NAMES, SQL_KEYWORDS, SQL_SECOND
from auditor.python.drivers import module_driver
from auditor.sites import SqlCall


def _string_value(node: cst.BaseExpression) -> str | None:
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


class _Visitor(cst.CSTVisitor):
    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self, path: str, driver: str | None, constants: dict[str, tuple[str, cst.CSTNode]]):
        self.path, self.driver, self.constants = path, driver, constants
        self.calls: list[SqlCall] = []

    def _location(self, node: cst.CSTNode) -> Location:
        start = self.get_metadata(PositionProvider, node).start
        return Location(self.path, start.line, start.column + 1)

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        name = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else None
        if name not in EXECUTE_NAMES:
            return
        position = 1 if name in SQL_SECOND else 0
        positional = [a for a in node.args if a.keyword is None]
        keyword = [a for a in node.args if a.keyword is not None and a.keyword.value in SQL_KEYWORDS]
        argument = positional[position].value if len(positional) > position else keyword[0].value if keyword else None
        if argument is None:
            return
        here = self._location(node)
        value = _string_value(argument)
        if value is not None:
            self.calls.append(SqlCall(here, name, value, driver=self.driver))
        elif isinstance(argument, cst.Name) and argument.value in self.constants:
            text, where = self.constants[argument.value]
            self.calls.append(SqlCall(here, name, text, origin=self._location(where), driver=self.driver))
        else:
            reason = "not a literal or module constant (file read by the fallback parser)"
            self.calls.append(SqlCall(here, name, None, unresolved_reason=reason, driver=self.driver))


def scan_with_libcst(text: str, path: str) -> list[SqlCall] | None:
    """The file's execute calls, or None if LibCST cannot parse it either."""
    try:
        module = cst.parse_module(text)
    except cst.ParserSyntaxError:
        return None
    constants: dict[str, tuple[str, cst.CSTNode]] = {}
    for statement in module.body:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name):
                    value = _string_value(small.value)
                    if value is not None:
                        constants[small.targets[0].target.value] = (value, small.value)
    visitor = _Visitor(path, module_driver(text), constants)
    MetadataWrapper(module, unsafe_skip_copy=True).visit(visitor)
    return visitor.calls
