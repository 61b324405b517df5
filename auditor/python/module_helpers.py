"""The project's own functions and methods, read one level deep as what they do to rows.

    def tag_exists(session, name):                      a lookup: it returns what a read found
        return session.query(Tag).filter_by(name=name).first() is not None

    class TagRepository:
        def insert(self, name):                         an insert: its first insert
            self.session.add(Tag(name=name))

    def tag(session, repo, name):
        if not tag_exists(session, name):               check-then-insert through two helpers
            repo.insert(name)

A call is resolved within its module: a bare name to a module-level function; `self.m(...)`
to the method of the class the caller is defined in; `obj.m(...)` to the one method of that
name among the module's classes (two classes with an `m`: not resolved). A helper's own
helper calls are not followed.
"""

from __future__ import annotations

import ast
from typing import Callable, Iterator

from auditor.python.calls import FUNCTION_NODES
from auditor.python.operations import INSERT, Operation, _call_name

Definition = tuple[ast.AST, ast.ClassDef | None]  # a function and the class it is defined in
Describe = Callable[[ast.AST, ast.ClassDef | None], Operation | None]


def _definitions(tree: ast.Module) -> Iterator[Definition]:
    for statement in tree.body:
        if isinstance(statement, FUNCTION_NODES):
            yield statement, None
        elif isinstance(statement, ast.ClassDef):
            for member in statement.body:
                if isinstance(member, FUNCTION_NODES):
                    yield member, statement


class ModuleHelpers:
    """What calling each function or method of one module does: `describe(definition)` is
    the reader's account of it (an insert, a returned lookup, or None); `inserts(definition)`
    the cheaper question whether it inserts (its first insert, or None)."""

    def __init__(self, tree: ast.Module, describe: Describe, inserts: Describe):
        self.describe, self.inserts = describe, inserts
        self.functions: dict[str, Definition] = {}
        self.methods: dict[str, list[Definition]] = {}
        for function, owner in _definitions(tree):
            if owner is None:
                self.functions[function.name] = (function, None)
            else:
                self.methods.setdefault(function.name, []).append((function, owner))
        self._described: dict[int, Operation | None] = {}
        self._inserting: dict[int, Operation | None] = {}

    def resolve(self, call: ast.Call, caller_class: ast.ClassDef | None) -> Definition | None:
        func = call.func
        if isinstance(func, ast.Name):
            return self.functions.get(func.id)
        if not isinstance(func, ast.Attribute):
            return None
        candidates = self.methods.get(func.attr, [])
        if isinstance(func.value, ast.Name) and func.value.id in ("self", "cls") and caller_class is not None:
            return next((d for d in candidates if d[1] is caller_class), None)
        return candidates[0] if len(candidates) == 1 else None

    def operation(self, call: ast.Call, caller: ast.AST, caller_class: ast.ClassDef | None) -> Operation | None:
        """What the call does, as the helper it calls does it (never the caller itself)."""
        definition = self.resolve(call, caller_class)
        if definition is None or definition[0] is caller:
            return None
        found = self.operation_of(*definition)
        return Operation(found.kind, found.sql, call, _call_name(call) or "") if found is not None else None

    def operation_of(self, function: ast.AST, owner: ast.ClassDef | None) -> Operation | None:
        key = id(function)
        if key not in self._described:
            self._described[key] = self.describe(function, owner)
        return self._described[key]

    def inserting_names(self, spans: Callable[[ast.AST], bool]) -> set[str]:
        """Names of the helpers among `spans` (those with a write hint) that insert: the lines
        calling them are read too."""
        everything = [*self.functions.values(), *(d for ds in self.methods.values() for d in ds)]
        return {function.name for function, owner in everything if spans(function) and self._insert_of(function, owner) is not None}

    def _insert_of(self, function: ast.AST, owner: ast.ClassDef | None) -> Operation | None:
        key = id(function)
        if key in self._described:  # described already: an insert is what it does
            found = self._described[key]
            return found if found is not None and found.kind == INSERT else None
        if key not in self._inserting:
            self._inserting[key] = self.inserts(function, owner)
        return self._inserting[key]
