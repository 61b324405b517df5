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
it the same way, one level deep, in its own module: a function the first pass found to insert,
or one named as a lookup (`get_...`, `find...`, `exists...`, `..._by_...`; others are not read,
which keeps a big project from being parsed twice). Flexget's web API calls
`db.get_list_by_exact_name(...)` of a sibling module with no insert of its own: lookups are
read in any project module, only from functions that insert, and only for calls whose result
can decide the write (idioms.FunctionIdioms._guard_calls). `class_named` finds the
project's class a name stands for the same way (a model's own `__init__`, a schema's Meta).
"""

from __future__ import annotations

import ast
import re
from typing import Callable, Iterator

from auditor.python.calls import FUNCTION_NODES
from auditor.python.modules import ModuleInfo, ProjectIndex
from auditor.python.operations import INSERT, Operation, _call_name

Definition = tuple[ast.AST, ast.ClassDef | None]  # a function and the class it is defined in
Describe = Callable[[ast.AST, ast.ClassDef | None], Operation | None]
DescribeElsewhere = Callable[[ModuleInfo, ast.AST], Operation | None]
_ATTRIBUTE_CALL = re.compile(r"\b([A-Za-z_]\w*)\.([A-Za-z_]\w*)\s*\(")
MAX_REEXPORTS = 3  # `from .users import create_account` in crud/__init__.py, and so on
# The functions of other modules read as a possible lookup: those named as one (reading every
# imported function would parse most of a big project's modules again).
LOOKUP_NAME = re.compile(r"_?(?:get|find|fetch|lookup|load|exists|has|is|check|search|select|query|read|retrieve)(?:_|$)|\w+_by_", re.I)


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

    def __init__(self, tree: ast.Module, describe: Describe, inserts: Describe, imported: ImportedHelpers | None = None):
        self.describe, self.inserts = describe, inserts
        self.imported = imported  # functions of other project modules
        self.functions: dict[str, Definition] = {}
        self.methods: dict[str, list[Definition]] = {}
        for function, owner in _definitions(tree):
            if owner is None:
                self.functions[function.name] = (function, None)
            else:
                self.methods.setdefault(function.name, []).append((function, owner))
        self._described: dict[int, Operation | None] = {}
        self._inserting: dict[int, Operation | None] = {}

    @classmethod
    def of_imports(cls, imported: ImportedHelpers) -> ModuleHelpers:
        """No function of the module's own: only the project's functions it imports."""
        return cls(ast.Module(body=[], type_ignores=[]), lambda function, owner: None, lambda function, owner: None, imported)

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

    def operation(self, call: ast.Call, caller: ast.AST, caller_class: ast.ClassDef | None, lookups: bool = True) -> Operation | None:
        """What the call does, as the helper it calls does it (never the caller itself).
        `lookups`: whether a lookup helper of another module is worth reading here."""
        definition = self.resolve(call, caller_class)
        if definition is None and self.imported is not None:
            found = self.imported.operation(call, lookups)
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

    def __init__(self, module: ModuleInfo, index: ProjectIndex, describe: DescribeElsewhere, known: dict[tuple[str, str], str] | None = None):
        self.module, self.index, self.describe = module, index, describe
        # The project's module-level functions the first pass found to insert: (module, name) ->
        # their INSERT, so that calling one needs no second reading of its module.
        self.known = known or {}
        self.wanted = frozenset(name for _module, name in self.known)
        self._definitions: dict[str, tuple[ModuleInfo, ast.AST] | str | None] = {}  # by the callee as written

    def call_lines_needles(self, source: str) -> set[str]:
        """The names whose calls may be of a wanted function here: imported by name
        (`create_tag(`, an alias too), or `module.create_tag(` of an imported module."""
        names = {alias for alias, (_source, attribute) in self.module.imports.items() if attribute in self.wanted}
        for alias, attribute in _ATTRIBUTE_CALL.findall(source):
            if attribute in self.wanted and alias in self.module.imports:
                names.add(attribute)
        return names

    def operation(self, call: ast.Call, lookups: bool = True) -> Operation | None:
        key = ast.unparse(call.func) if isinstance(call.func, (ast.Name, ast.Attribute)) else None
        name = _call_name(call) or ""
        if key is None or not (name in self.wanted or (lookups and LOOKUP_NAME.match(name))):
            return None  # neither an insert nor named as a lookup: its module is not read
        if key not in self._definitions:
            self._definitions[key] = self.definition(call)
        found = self._definitions[key]
        if isinstance(found, str):
            return Operation(INSERT, found, call, name)
        return self.describe(*found) if found is not None else None

    def definition(self, call: ast.Call) -> tuple[ModuleInfo, ast.AST] | str | None:
        """`create_account(...)` imported by name, or `crud.create_account(...)` of an
        imported module: the function and the module that defines it, or the INSERT the
        first pass found it to run."""
        return self._defined(call.func, lambda info, attribute: info.functions.get(attribute))

    def class_named(self, node: ast.expr) -> ast.ClassDef | None:
        """The class `Entry` (imported by name) or `db.Entry` (of an imported module) names,
        where the project defines it."""
        found = self._defined(node, lambda info, attribute: info.classes.get(attribute))
        return found[1] if isinstance(found, tuple) else None

    def _defined(self, node: ast.expr, member: Callable[[ModuleInfo, str], ast.AST | None]) -> tuple[ModuleInfo, ast.AST] | str | None:
        """Follow the import `node` names (through re-exports) to the project module whose
        `member(module, name)` it is: that module and definition; or, for a function the first
        pass found to insert, its INSERT."""
        if isinstance(node, ast.Name) and (imported := self.module.imports.get(node.id)) and imported[1] is not None:
            dotted, attribute = imported
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and (imported := self.module.imports.get(node.value.id)):
            source, name = imported  # `import app.crud as crud` or `from app import crud`
            dotted, attribute = (source if name is None else f"{source}.{name}"), node.attr
        else:
            return None
        for _ in range(MAX_REEXPORTS + 1):
            if (dotted, attribute) in self.known:
                self.index.consulted.add(dotted)  # the cached result depends on that module
                return self.known[dotted, attribute]
            if not self.index.is_module(dotted):
                return None  # a library, not the project
            info = self.index.load(dotted)
            if info is None:
                return None
            found = member(info, attribute)
            if found is not None:
                return info, found
            if attribute not in info.imports or info.imports[attribute][1] is None:
                return None
            dotted, attribute = info.imports[attribute]
        return None
