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

A data layer usually lives in another module (`from ..crud import create_account,
get_account_by_username`): ImportedHelpers resolves a function imported from a project module
(through a package's re-export too, and `crud.get_x(...)` of an imported module) and reads
it the same way, one level deep, in its own module.
"""

from __future__ import annotations

import ast
from typing import Callable, Iterator

from auditor.python.calls import FUNCTION_NODES
from auditor.python.modules import ModuleInfo, ProjectIndex
from auditor.python.operations import INSERT, Operation, _call_name

Definition = tuple[ast.AST, ast.ClassDef | None]  # a function and the class it is defined in
Describe = Callable[[ast.AST, ast.ClassDef | None], Operation | None]
DescribeElsewhere = Callable[[ModuleInfo, ast.AST], Operation | None]
MAX_REEXPORTS = 3  # `from .users import create_account` in crud/__init__.py, and so on


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
        self.imported: ImportedHelpers | None = None  # functions of other project modules

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
        if definition is None and self.imported is not None:
            found = self.imported.operation(call)
        elif definition is None or definition[0] is caller:
            return None
        else:
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


class ImportedHelpers:
    """The functions one module imports from other modules of the project, each read in its
    own module by `describe` (an insert, a returned lookup, or None; the caller caches)."""

    def __init__(self, module: ModuleInfo, index: ProjectIndex, describe: DescribeElsewhere, wanted: frozenset[str] = frozenset()):
        self.module, self.index, self.describe = module, index, describe
        self.wanted = wanted  # the project's module-level functions known to insert, by name

    def operation(self, call: ast.Call) -> Operation | None:
        found = self.definition(call)
        return self.describe(*found) if found is not None else None

    def definition(self, call: ast.Call) -> tuple[ModuleInfo, ast.AST] | None:
        """`create_account(...)` imported by name, or `crud.create_account(...)` of an
        imported module: the function and the module that defines it."""
        func = call.func
        if isinstance(func, ast.Name) and (imported := self.module.imports.get(func.id)) and imported[1] is not None:
            dotted, attribute = imported
        elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and (imported := self.module.imports.get(func.value.id)):
            source, name = imported  # `import app.crud as crud` or `from app import crud`
            dotted, attribute = (source if name is None else f"{source}.{name}"), func.attr
        else:
            return None
        for _ in range(MAX_REEXPORTS + 1):
            if not self.index.is_module(dotted):
                return None  # a library, not the project
            info = self.index.load(dotted)
            if info is None:
                return None
            if attribute in info.functions:
                return info, info.functions[attribute]
            if attribute not in info.imports or info.imports[attribute][1] is None:
                return None
            dotted, attribute = info.imports[attribute]
        return None

    def names_of(self, wanted: frozenset[str]) -> set[str]:
        """The local names of imported project functions among `wanted` (by their own name)."""
        return {alias for alias, (_source, attribute) in self.module.imports.items() if attribute in wanted}
