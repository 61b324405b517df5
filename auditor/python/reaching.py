"""Which assignments of a local name can reach one use of it, read from the function's code.

`sql = A` then `execute(sql)` then `sql = B` then `execute(sql)`: each call sees one value.
`if kind == "a": sql = A` / `else: sql = B` then `execute(sql)`: the call sees either.
`sql += " ON CONFLICT ..."` extends every value that reaches it. A value the name gets
some other way (a parameter, unpacking, `with ... as`, a walrus, `global`) is an Unknown
with the reason, so the caller can say why it could not follow it. A loop variable is a
LoopItem of the loop's collection, which the constant folder expands where it is a literal
(`for ddl in SCHEMA:`, `for name, ddl in TABLES.items():`).

A loop's body is read twice, so a use in it also sees what an earlier iteration assigned, and
the loop may run no time at all; a branch that ends in return/raise/break/continue does not
reach past it.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

MAX_VALUES = 16  # more possible values than this: the name is given up as unknown


@dataclass(frozen=True)
class Unknown:
    reason: str


class LoopItem(ast.expr):
    """The value a loop variable takes: one item of `collection` (each, in turn), its
    `part` being the element (`for s in STATEMENTS`), or a dict's key or value (`for name,
    ddl in TABLES.items()`). The constant folder expands it when the collection is known."""

    _fields = ("collection",)

    def __init__(self, collection: ast.expr, part: str, **positions):
        super().__init__(collection=collection, **positions)
        self.part = part


def _loop_item(statement: ast.For | ast.AsyncFor, name: str) -> ast.expr | Unknown:
    """What `name` is in each pass of `for <target> in <iter>`: a LoopItem, or Unknown."""
    target, iterable = statement.target, statement.iter
    call = iterable.func.attr if isinstance(iterable, ast.Call) and isinstance(iterable.func, ast.Attribute) and not iterable.args else None
    if isinstance(iterable, ast.Call) and isinstance(iterable.func, ast.Name) and iterable.func.id == "enumerate" and len(iterable.args) == 1 \
            and isinstance(target, ast.Tuple) and len(target.elts) == 2 and isinstance(target.elts[1], ast.Name) and target.elts[1].id == name:
        return LoopItem(iterable.args[0], "element", **_positions(target))
    if isinstance(target, ast.Name) and target.id == name:
        if call in ("values", "keys"):
            return LoopItem(iterable.func.value, call[:-1], **_positions(target))
        return LoopItem(iterable, "element", **_positions(target))
    if call == "items" and isinstance(target, ast.Tuple) and len(target.elts) == 2:
        for index, part in enumerate(("key", "value")):
            if isinstance(target.elts[index], ast.Name) and target.elts[index].id == name:
                return LoopItem(iterable.func.value, part, **_positions(target))
    return Unknown(f"name {name!r} is a loop variable")


def _positions(node: ast.AST) -> dict:
    return {a: getattr(node, a) for a in ("lineno", "col_offset", "end_lineno", "end_col_offset")}


# A state is the tuple of values (ast.expr or Unknown) that may reach a point: () when the
# name is not assigned yet, None when the point cannot be reached.


def _position(node: ast.AST) -> tuple[int, int]:
    return node.lineno, node.col_offset


def _holds(statement: ast.AST, use: ast.AST) -> bool:
    start = _position(statement)
    end = (statement.end_lineno or statement.lineno, statement.end_col_offset or 0)
    return start <= _position(use) <= end


def _union(*states):
    live = [s for s in states if s is not None]
    if not live:
        return None
    merged = []
    for state in live:
        merged.extend(v for v in state if not any(v is m for m in merged))
    return tuple(merged) if len(merged) <= MAX_VALUES else (Unknown("the name has too many possible values"),)


def _binds(target: ast.AST, name: str) -> bool:
    """Does an assignment target bind the name? (`a.x = ...` and `a[i] = ...` bind none.)"""
    if isinstance(target, ast.Name):
        return target.id == name
    if isinstance(target, (ast.Tuple, ast.List)):
        return any(_binds(e, name) for e in target.elts)
    if isinstance(target, ast.Starred):
        return _binds(target.value, name)
    return False


class Reaching:
    """Reaching values of one name in one function: one pass over the function records the
    values on entry to every statement, and each use reads the entry of its innermost statement."""

    def __init__(self, function: ast.AST, name: str, initial: tuple, walrus: bool = True):
        self.function, self.name, self.initial = function, name, initial
        # Where the name is bound by := (rare, and known to the caller): found once, not per statement.
        self._walruses = [n for n in ast.walk(function) if isinstance(n, ast.NamedExpr) and n.target.id == name] if walrus else []
        self._entry: dict[int, tuple | None] = {}  # id(statement) -> values on entry (None: unreachable)
        self._read = False

    def at(self, use: ast.AST) -> tuple | None:
        """The values that may reach `use`; None when `use` is not inside the function."""
        if not self._read:
            self._block(self.function.body, self.initial)
            self._read = True
        statement = _innermost(self.function.body, use)
        if statement is None:
            return None
        return self._entry.get(id(statement)) or ()

    def _block(self, statements: list, state):
        """The values after running `statements` from `state` (None: the block always leaves early)."""
        for statement in statements:
            self._entry[id(statement)] = state
            if state is not None:
                state = self._statement(statement, state)
        return state

    def _statement(self, statement: ast.stmt, state):
        name = self.name
        if isinstance(statement, ast.Assign):
            if any(isinstance(t, ast.Name) and t.id == name for t in statement.targets):
                return (statement.value,)
            if any(_binds(t, name) for t in statement.targets):
                return (Unknown(f"name {name!r} is assigned by unpacking"),)
            return self._walrus(statement, state)
        if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name) and statement.target.id == name:
            return (statement.value,) if statement.value is not None else state
        if isinstance(statement, ast.AugAssign) and isinstance(statement.target, ast.Name) and statement.target.id == name:
            if not isinstance(statement.op, ast.Add):
                return (Unknown(f"name {name!r} is changed by {type(statement.op).__name__}="),)
            grown = tuple(v if isinstance(v, Unknown) else _located(ast.BinOp(v, ast.Add(), statement.value), statement) for v in state)
            return grown or (Unknown(f"name {name!r} is extended before it is assigned"),)
        if isinstance(statement, (ast.Return, ast.Raise, ast.Break, ast.Continue)):
            return None
        if isinstance(statement, ast.If):
            return _union(self._block(statement.body, state), self._block(statement.orelse, state) if statement.orelse else state)
        if isinstance(statement, (ast.For, ast.AsyncFor, ast.While)):
            entry = state
            if not isinstance(statement, ast.While) and _binds(statement.target, name):
                entry = (_loop_item(statement, name),)
            looped = _union(entry, self._block(statement.body, entry))  # the body seen from a later iteration
            after = _union(entry, self._block(statement.body, looped))
            return _union(after, self._block(statement.orelse, after)) if statement.orelse else after
        if isinstance(statement, (ast.With, ast.AsyncWith)):
            if any(item.optional_vars is not None and _binds(item.optional_vars, name) for item in statement.items):
                state = (Unknown(f"name {name!r} is bound by with ... as"),)
            return self._block(statement.body, state)
        if isinstance(statement, ast.Try) or type(statement).__name__ == "TryStar":
            after_body = self._block(statement.body, state)
            handled = [self._block(h.body, _union(state, after_body)) for h in statement.handlers]
            after = _union(self._block(statement.orelse, after_body) if statement.orelse else after_body, *handled)
            return self._block(statement.finalbody, after) if statement.finalbody else after
        if isinstance(statement, ast.Match):
            ends = [self._block(case.body, state) for case in statement.cases]
            return _union(state, *ends)
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            return (Unknown(f"name {name!r} is a {type(statement).__name__}"),) if statement.name == name else state
        if isinstance(statement, (ast.Global, ast.Nonlocal)) and name in statement.names:
            return (Unknown(f"name {name!r} is declared {type(statement).__name__.lower()}"),)
        if isinstance(statement, (ast.Import, ast.ImportFrom)) and any((a.asname or a.name.split(".")[0]) == name for a in statement.names):
            return (Unknown(f"name {name!r} is an imported module or name"),)
        if isinstance(statement, ast.Delete) and any(_binds_del(t, name) for t in statement.targets):
            return ()
        return self._walrus(statement, state)

    def _walrus(self, statement: ast.stmt, state):
        if self._walruses and any(_holds(statement, n) for n in self._walruses):
            return (Unknown(f"name {self.name!r} is assigned by :="),)
        return state


def _binds_del(target: ast.AST, name: str) -> bool:
    return isinstance(target, ast.Name) and target.id == name


def _innermost(statements: list, use: ast.AST) -> ast.stmt | None:
    """The innermost statement of the block that holds `use`."""
    for statement in statements:
        if _holds(statement, use):
            for body in _bodies(statement):
                inner = _innermost(body, use)
                if inner is not None:
                    return inner
            return statement
    return None


def _bodies(statement: ast.stmt) -> list[list]:
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return []  # another scope
    bodies = [getattr(statement, f) for f in ("body", "orelse", "finalbody") if isinstance(getattr(statement, f, None), list)]
    bodies += [h.body for h in getattr(statement, "handlers", [])]
    bodies += [c.body for c in getattr(statement, "cases", [])]
    return bodies


def _located(node: ast.expr, where: ast.AST) -> ast.expr:
    """A synthesized expression placed where the statement that made it is (for locations)."""
    return ast.copy_location(node, where)
