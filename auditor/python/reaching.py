"""Which assignments of a local name can reach one use of it, read from the function's code.

`sql = A` then `execute(sql)` then `sql = B` then `execute(sql)`: each call sees one value.
`if kind == "a": sql = A` / `else: sql = B` then `execute(sql)`: the call sees either.
`sql += " ON CONFLICT ..."` extends every value that reaches it. A value the name gets
some other way (a parameter, a loop variable, unpacking, `with ... as`, a walrus, `global`)
is an Unknown with the reason, so the caller can say why it could not follow it.

Loops are read as running their body zero times or once, which is what a constant SQL
string needs; a branch that ends in return/raise/break/continue does not reach past it.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

MAX_VALUES = 16  # more possible values than this: the name is given up as unknown


@dataclass(frozen=True)
class Unknown:
    reason: str


Value = "ast.expr | Unknown"
State = tuple  # the values that may reach this point (empty: not assigned yet); None: unreachable


class _Found(Exception):
    def __init__(self, state):
        self.state = state


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
    return tuple(merged[:MAX_VALUES]) if len(merged) <= MAX_VALUES else (Unknown("the name has too many possible values"),)


def _binds(target: ast.AST, name: str) -> bool:
    return any(isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Store) for n in ast.walk(target))


class Reaching:
    """Reaching values of one name in one function."""

    def __init__(self, function: ast.AST, name: str, initial: tuple):
        self.function, self.name, self.initial = function, name, initial

    def at(self, use: ast.AST) -> tuple | None:
        """The values that may reach `use`; None when `use` is not inside the function."""
        try:
            self._block(self.function.body, self.initial, use)
        except _Found as found:
            return found.state or ()
        return None

    # A block run from `state`: the state after it (None: it always leaves early). With `use`,
    # raise _Found with the state where the use is, once it is reached.
    def _block(self, statements: list, state, use=None):
        for statement in statements:
            if state is None:
                return None
            if use is not None and _holds(statement, use):
                self._inside(statement, state, use)
                raise _Found(state)
            state = self._statement(statement, state)
        return state

    def _inside(self, statement: ast.stmt, state, use) -> None:
        """Descend into the compound statement that holds the use (raises _Found if a body holds it)."""
        name = self.name
        if isinstance(statement, ast.If):
            for body in (statement.body, statement.orelse):
                if body and _holds_any(body, use):
                    self._block(body, state, use)
        elif isinstance(statement, (ast.For, ast.AsyncFor, ast.While)):
            entry = state
            if not isinstance(statement, ast.While) and _binds(statement.target, name):
                entry = (Unknown(f"name {name!r} is a loop variable"),)
            looped = _union(entry, self._block(statement.body, entry))
            if _holds_any(statement.body, use):
                self._block(statement.body, looped, use)
            if statement.orelse and _holds_any(statement.orelse, use):
                self._block(statement.orelse, looped, use)
        elif isinstance(statement, (ast.With, ast.AsyncWith)):
            if any(item.optional_vars is not None and _binds(item.optional_vars, name) for item in statement.items):
                state = (Unknown(f"name {name!r} is bound by with ... as"),)
            self._block(statement.body, state, use)
        elif isinstance(statement, ast.Try) or type(statement).__name__ == "TryStar":
            after_body = self._block(statement.body, state, use if _holds_any(statement.body, use) else None)
            for handler in statement.handlers:
                if _holds_any(handler.body, use):
                    self._block(handler.body, _union(state, after_body), use)
            for body in (statement.orelse, statement.finalbody):
                if body and _holds_any(body, use):
                    self._block(body, _union(state, after_body), use)
        elif isinstance(statement, ast.Match):
            for case in statement.cases:
                if _holds_any(case.body, use):
                    self._block(case.body, state, use)

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
                entry = (Unknown(f"name {name!r} is a loop variable"),)
            after = _union(entry, self._block(statement.body, entry))
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
        if any(isinstance(n, ast.NamedExpr) and n.target.id == self.name for n in ast.walk(statement)):
            return (Unknown(f"name {self.name!r} is assigned by :="),)
        return state


def _binds_del(target: ast.AST, name: str) -> bool:
    return isinstance(target, ast.Name) and target.id == name


def _holds_any(statements: list, use: ast.AST) -> bool:
    return any(_holds(s, use) for s in statements)


def _located(node: ast.expr, where: ast.AST) -> ast.expr:
    """A synthesized expression placed where the statement that made it is (for locations)."""
    return ast.copy_location(node, where)
