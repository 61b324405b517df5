"""Constant folding of SQL arguments: what string an expression is, without running it.

Resolved: string literals, implicit concatenation, `+`, f-strings whose holes
are constants, `"..." % (constants)` and `"...".format(constants)`, names bound
once at module level (in this module or imported from another project module),
and local names bound once in the enclosing function. SQLAlchemy's `text("...")`
is unwrapped to its string. Anything else is Unresolved, with the reason, so the
summary can count it; a value that is clearly not a string at all (a SQLAlchemy
`insert(...)` construct, psycopg's `sql.SQL(...)`) is NotSql and skipped.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from auditor.python.modules import ModuleInfo, ProjectIndex

MAX_DEPTH = 32  # constant chains longer than this are treated as unresolved

# Calls that build statement objects, not strings: another extractor's business.
STATEMENT_BUILDERS = {
    "insert", "select", "update", "delete", "pg_insert", "sqlite_insert", "mysql_insert",
    "SQL", "Composed", "Identifier", "Literal", "Query", "table", "Table",
}
TEXT_WRAPPERS = {"text"}  # sqlalchemy.text / sa.text: unwrap to its string argument
PSYCOPG_COMPOSABLES = {"SQL", "Identifier"}  # psycopg(2).sql pieces that fold to text


@dataclass(frozen=True)
class Folded:
    value: str
    module: ModuleInfo  # where the string was written
    node: ast.AST  # the expression that holds the text
    via_name: bool  # reached through a constant (then the origin is a related location)


@dataclass(frozen=True)
class Unresolved:
    reason: str


class NotSql:
    """The argument is a statement object, not a SQL string."""


NOT_SQL = NotSql()


def _callee_name(call: ast.Call) -> str | None:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _chain_root(node: ast.AST) -> ast.AST:
    """`insert(t).on_conflict_do_update(...).returning(...)` -> `insert(t)`."""
    while isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Call):
        node = node.func.value
    return node


@dataclass
class Scope:
    """Names bound in the enclosing function: parameters, and single plain assignments."""

    parameters: frozenset[str] = frozenset()
    assigned_once: dict[str, ast.expr] | None = None
    rebound: frozenset[str] = frozenset()

    @classmethod
    def of_function(cls, function: ast.AST) -> "Scope":
        args = function.args
        parameters = {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]}
        parameters |= {a.arg for a in (args.vararg, args.kwarg) if a}
        stores: dict[str, int] = {}
        values: dict[str, ast.expr] = {}
        for node in ast.walk(function):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                stores[node.id] = stores.get(node.id, 0) + 1
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                values[node.targets[0].id] = node.value
        rebound = frozenset(n for n, c in stores.items() if c > 1)
        return cls(frozenset(parameters), {n: v for n, v in values.items() if n not in rebound}, rebound)


class ConstantFolder:
    def __init__(self, index: ProjectIndex):
        self.index = index

    def fold(self, node: ast.AST, module: ModuleInfo, scope: Scope | None = None, depth: int = 0) -> Folded | Unresolved | NotSql:
        if depth > MAX_DEPTH:
            return Unresolved("constant chain too deep")
        fold = lambda n, s=scope, m=module: self.fold(n, m, s, depth + 1)  # noqa: E731
        if isinstance(node, ast.Constant):
            if isinstance(node.value, str):
                return Folded(node.value, module, node, False)
            return Unresolved(f"a {type(node.value).__name__} constant is not SQL text")
        if isinstance(node, ast.JoinedStr):
            return self._fold_fstring(node, module, scope, depth)
        if isinstance(node, ast.BinOp):
            return self._fold_binop(node, module, scope, depth)
        if isinstance(node, ast.Name):
            return self._fold_name(node.id, module, scope, depth)
        if isinstance(node, ast.Attribute):
            return self._fold_attribute(node, module, depth)
        if isinstance(node, ast.Call):
            name = _callee_name(node)
            if name in TEXT_WRAPPERS and node.args:
                return fold(node.args[0])
            if name == "Placeholder":  # psycopg sql.Placeholder(): a %s
                return Folded("%s", module, node, False)
            if name in PSYCOPG_COMPOSABLES and len(node.args) == 1:  # psycopg sql.SQL("...") / Identifier("t")
                return self._fold_composable(name, node.args[0], module, scope, depth)
            if name == "format" and isinstance(node.func, ast.Attribute):
                return self._fold_format(node, module, scope, depth)
            if _callee_name(_chain_root(node)) in STATEMENT_BUILDERS:
                return NOT_SQL
            return Unresolved(f"the SQL is the result of a call to {name or 'an expression'}()")
        return Unresolved(f"a {type(node).__name__} expression is not a constant")

    def _fold_name(self, name: str, module: ModuleInfo, scope: Scope | None, depth: int):
        if scope is not None:
            if name in scope.parameters:
                return Unresolved(f"name {name!r} is a function parameter")
            if name in scope.rebound:
                return Unresolved(f"name {name!r} is assigned more than once")
            if scope.assigned_once and name in scope.assigned_once:
                result = self.fold(scope.assigned_once[name], module, scope, depth + 1)
                return result  # a local in the same function: not a separate origin
        if name in module.rebound:
            return Unresolved(f"name {name!r} is assigned more than once in {module.path}")
        if name in module.constants:
            result = self.fold(module.constants[name], module, None, depth + 1)
            return Folded(result.value, result.module, result.node, True) if isinstance(result, Folded) else result
        if name in module.imports:
            source, attribute = module.imports[name]
            if attribute is None:
                return Unresolved(f"name {name!r} is a module")
            return self._fold_imported(source, attribute, depth)
        return Unresolved(f"name {name!r} is not a constant")

    def _fold_imported(self, source: str, attribute: str, depth: int):
        target = self.index.load(source)
        if target is None:
            return Unresolved(f"{source}.{attribute} is not in a project module")
        if attribute not in target.constants and self.index.is_module(f"{source}.{attribute}"):
            return Unresolved(f"name {attribute!r} is a module")
        return self._fold_name(attribute, target, None, depth + 1)

    def _fold_attribute(self, node: ast.Attribute, module: ModuleInfo, depth: int):
        """`queries.UPSERT` or `app.sql.UPSERT` where the prefix names a project module."""
        parts: list[str] = []
        current: ast.AST = node
        while isinstance(current, ast.Attribute):
            parts.append(current.attr)
            current = current.value
        if not isinstance(current, ast.Name) or current.id not in module.imports:
            return Unresolved(f"attribute {ast.unparse(node)!r} is not a constant")
        source, attribute = module.imports[current.id]
        dotted = source if attribute is None else f"{source}.{attribute}"
        *path, name = reversed(parts)
        return self._fold_imported(".".join([dotted, *path]), name, depth)

    def _fold_fstring(self, node: ast.JoinedStr, module: ModuleInfo, scope: Scope | None, depth: int):
        pieces: list[str] = []
        for part in node.values:
            if isinstance(part, ast.Constant):
                pieces.append(str(part.value))
                continue
            if part.conversion != -1 or part.format_spec is not None:
                return Unresolved("an f-string hole with a conversion or format spec")
            value = self._hole(part.value, module, scope, depth)
            if not isinstance(value, str):
                return value
            pieces.append(value)
        return Folded("".join(pieces), module, node, False)

    def _fold_composable(self, name: str, node: ast.AST, module: ModuleInfo, scope: Scope | None, depth: int):
        """psycopg's sql.SQL("...") is its text; Identifier("t") is "t" quoted."""
        result = self.fold(node, module, scope, depth + 1)
        if name == "Identifier" and isinstance(result, Folded):
            return Folded('"' + result.value.replace('"', '""') + '"', result.module, result.node, result.via_name)
        return result

    def _hole(self, node: ast.AST, module: ModuleInfo, scope: Scope | None, depth: int) -> str | Unresolved | NotSql:
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return str(node.value)
        result = self.fold(node, module, scope, depth + 1)
        if isinstance(result, Folded):
            return result.value
        return result if isinstance(result, Unresolved) else Unresolved("an f-string hole is not SQL text")

    def _fold_binop(self, node: ast.BinOp, module: ModuleInfo, scope: Scope | None, depth: int):
        left = self.fold(node.left, module, scope, depth + 1)
        if not isinstance(left, Folded):
            return left
        if isinstance(node.op, ast.Add):
            right = self.fold(node.right, module, scope, depth + 1)
            if not isinstance(right, Folded):
                return right
            return Folded(left.value + right.value, left.module, left.node, left.via_name)
        if isinstance(node.op, ast.Mod):
            items = node.right.elts if isinstance(node.right, ast.Tuple) else [node.right]
            values = [self._hole(i, module, scope, depth) for i in items]
            if not all(isinstance(v, str) for v in values):
                return Unresolved("%-formatting with values that are not constants")
            try:
                return Folded(left.value % tuple(values), left.module, left.node, left.via_name)
            except (TypeError, ValueError, KeyError):
                return Unresolved("%-formatting that does not apply")
        return Unresolved(f"a {type(node.op).__name__} of strings")

    def _fold_format(self, node: ast.Call, module: ModuleInfo, scope: Scope | None, depth: int):
        template = self.fold(node.func.value, module, scope, depth + 1)
        if not isinstance(template, Folded):
            return template
        args = [self._hole(a, module, scope, depth) for a in node.args]
        kwargs = {k.arg: self._hole(k.value, module, scope, depth) for k in node.keywords if k.arg}
        if not all(isinstance(v, str) for v in [*args, *kwargs.values()]) or len(kwargs) != len(node.keywords):
            return Unresolved(".format() with values that are not constants")
        try:
            return Folded(template.value.format(*args, **kwargs), template.module, template.node, template.via_name)
        except (IndexError, KeyError, ValueError):
            return Unresolved(".format() that does not apply")
