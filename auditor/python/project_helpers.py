"""The project's own helpers around its driver, found without configuration.

A function of the project whose parameter reaches the SQL of an execute-like call, whole or
as a part, is a sink by itself:

    def upsert(cur, table, keys, row):
        cur.execute(f"INSERT INTO {table} ({', '.join(row)}) VALUES (...) "
                    f"ON CONFLICT ({', '.join(keys)}) DO UPDATE ...")

    upsert(cur, "users", ["email"], {"email": e, "name": n})   # checked like the literal statement

Each call of it is evaluated with the arguments at that call: the helper's SQL is folded with
its parameters bound to what the call passes (`constants.Scope.binding`), through more than one
level of helpers. A call is followed when the called function is known: a function of this
module or imported from a project module (`f(...)`, `module.f(...)`), or a method of the
enclosing class or its project bases (`self.f(...)`). A method called on any other object is
left alone: which class it belongs to is not known.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Iterator

from auditor.model import Location
from auditor.python.constants import PARAMETER_REASON, Argument, ConstantFolder, Folded, Scope, Unresolved
from auditor.python.modules import ModuleInfo, ProjectIndex

MAX_LEVELS = 4  # helpers calling helpers: deeper chains are not followed
FUNCTION_NODES = (ast.FunctionDef, ast.AsyncFunctionDef)
DECORATORS_WITHOUT_SELF = {"staticmethod"}


@dataclass(frozen=True)
class Helper:
    """A project function whose parameters reach the SQL of execute-like calls in it."""

    function: ast.FunctionDef | ast.AsyncFunctionDef
    module: ModuleInfo
    is_method: bool  # defined in a class: its first parameter is the instance or class

    @property
    def key(self) -> str:
        """`module:function@line`: names one helper across the run, for counting its calls."""
        return f"{self.module.path}:{self.function.name}@{self.function.lineno}"


@dataclass(frozen=True)
class Reached:
    """One statement a call of a helper runs: where the helper runs it, and its folded SQL."""

    api: str
    helper: Helper  # the helper that holds the execute-like call
    result: object  # Folded | Unresolved | NotSql, from ConstantFolder.fold_all
    path: tuple[Location, ...]  # the calls inside helpers that lead to it; the last runs the SQL


def parameters_reached(results: list) -> set[str]:
    """Which parameters of the enclosing function the folded SQL depends on."""
    reasons = []
    for result in results:
        if isinstance(result, Unresolved):
            reasons.append(result.reason)
        elif isinstance(result, Folded):
            reasons.extend(result.holes)
    found = set()
    for reason in reasons:
        for part in reason.split("; "):
            match = PARAMETER_REASON.match(part)
            if match:
                found.add(match.group(1))
    return found


def _positional(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.arg]:
    return [*function.args.posonlyargs, *function.args.args]


def bind(call: ast.Call, helper: Helper, module: ModuleInfo, scope: Scope | None) -> dict[str, Argument]:
    """What the call passes for each parameter, and the defaults of the ones it does not."""
    function = helper.function
    positional = _positional(function)
    decorators = {d.id if isinstance(d, ast.Name) else getattr(d, "attr", None) for d in function.decorator_list}
    if helper.is_method and not DECORATORS_WITHOUT_SELF & decorators and isinstance(call.func, ast.Attribute):
        positional = positional[1:]  # self / cls
    bound: dict[str, Argument] = {}
    defaults = function.args.defaults
    for parameter, default in zip(_positional(function)[len(_positional(function)) - len(defaults):], defaults):
        bound[parameter.arg] = Argument(default, helper.module, None)
    for parameter, default in zip(function.args.kwonlyargs, function.args.kw_defaults):
        if default is not None:
            bound[parameter.arg] = Argument(default, helper.module, None)
    for parameter, argument in zip(positional, call.args):
        if isinstance(argument, ast.Starred):
            break
        bound[parameter.arg] = Argument(argument, module, scope)
    names = {p.arg for p in [*positional, *function.args.kwonlyargs]}
    for keyword in call.keywords:
        if keyword.arg in names:
            bound[keyword.arg] = Argument(keyword.value, module, scope)
    return bound


class ProjectHelpers:
    """Finds which calls go into a helper of the project, and what SQL each such call runs."""

    def __init__(self, index: ProjectIndex, folder: ConstantFolder, is_execute_call):
        self.index = index
        self.folder = folder
        # is_execute_call(call, module) -> (api, sql argument) | None: the extractor's own test
        self.is_execute_call = is_execute_call
        self._helpers: dict[int, list | None] = {}  # id(function) -> its statements, None: not a helper
        self._scopes: dict[int, Scope] = {}
        self._owners: dict[str, dict[int, ast.ClassDef]] = {}

    # -- which function a call goes into ---------------------------------------------------

    def callee(self, call: ast.Call, module: ModuleInfo, function: ast.AST | None) -> Helper | None:
        """The project helper the call goes into, if the called function is known and is one."""
        target = self._resolve(call.func, module, function)
        if target is None:
            return None
        helper = Helper(*target)
        return helper if self._statements(helper) else None

    def _resolve(self, func: ast.expr, module: ModuleInfo, function: ast.AST | None):
        if isinstance(func, ast.Name):
            return self._function(module, func.id)
        if not isinstance(func, ast.Attribute):
            return None
        receiver = func.value
        if isinstance(receiver, ast.Name) and receiver.id in ("self", "cls") and function is not None:
            owner = self.owner(module, function)
            return self._method(module, owner, func.attr, 0) if owner is not None else None
        if isinstance(receiver, ast.Name) and receiver.id in module.imports:
            source, attribute = module.imports[receiver.id]
            dotted = source if attribute is None else f"{source}.{attribute}"
            target = self.index.load(dotted)
            if target is not None:
                found = target.functions.get(func.attr)
                return (found, target, False) if found is not None else None
        return None

    def _function(self, module: ModuleInfo, name: str, depth: int = 0):
        if name in module.functions:
            return module.functions[name], module, False
        if name in module.imports and depth < 3:
            source, attribute = module.imports[name]
            target = self.index.load(source) if attribute is not None else None
            if target is not None:
                return self._function(target, attribute, depth + 1)  # re-exported through a package
        return None

    def owner(self, module: ModuleInfo, function: ast.AST) -> ast.ClassDef | None:
        """The module-level class the function is a method of, if any."""
        owners = self._owners.get(module.path)
        if owners is None:
            owners = self._owners[module.path] = {
                id(item): cls for cls in module.classes.values() for item in cls.body if isinstance(item, FUNCTION_NODES)
            }
        return owners.get(id(function))

    def _method(self, module: ModuleInfo, cls: ast.ClassDef, name: str, depth: int):
        for item in cls.body:
            if isinstance(item, FUNCTION_NODES) and item.name == name:
                return item, module, True
        if depth >= 3:
            return None
        for base in cls.bases:  # project bases: in this module or imported from a project module
            if isinstance(base, ast.Name) and base.id in module.classes:
                found = self._method(module, module.classes[base.id], name, depth + 1)
            elif isinstance(base, ast.Name) and base.id in module.imports and module.imports[base.id][1]:
                source, attribute = module.imports[base.id]
                target = self.index.load(source)
                found = self._method(target, target.classes[attribute], name, depth + 1) if target and attribute in target.classes else None
            else:
                found = None
            if found is not None:
                return found
        return None

    # -- what a helper runs ----------------------------------------------------------------

    def scope(self, function: ast.AST) -> Scope:
        if id(function) not in self._scopes:
            self._scopes[id(function)] = Scope.of_function(function)
        return self._scopes[id(function)]

    def _statements(self, helper: Helper, level: int = 0) -> list | None:
        """The calls in the helper that run SQL its parameters reach: (call, api, SQL argument)
        for execute-like calls, (call, Helper, None) for calls of further helpers. None: not a helper."""
        key = id(helper.function)
        if key in self._helpers:
            return self._helpers[key]
        self._helpers[key] = None  # guards recursion
        scope = self.scope(helper.function)
        parameters = scope.parameters
        found = []
        for node in ast.walk(helper.function):
            if not isinstance(node, ast.Call):
                continue
            execute = self.is_execute_call(node, helper.module)
            if execute is not None:
                api, argument = execute
                if parameters_reached(self.folder.fold_all(argument, helper.module, scope)):
                    found.append((node, api, argument))
            elif level < MAX_LEVELS and _mentions(node, parameters):
                inner = self._resolve(node.func, helper.module, helper.function)
                if inner is not None and inner[0] is not helper.function:
                    inner_helper = Helper(*inner)
                    if self._statements(inner_helper, level + 1):
                        found.append((node, inner_helper, None))
        self._helpers[key] = found or None
        return self._helpers[key]

    def reached(
        self, call: ast.Call, helper: Helper, module: ModuleInfo, scope: Scope | None, level: int = 0, path: tuple[Location, ...] = ()
    ) -> Iterator[Reached]:
        """Every statement this call of the helper runs, folded with the call's arguments."""
        inner_scope = self.scope(helper.function).binding(bind(call, helper, module, scope))
        for node, what, argument in self._statements(helper) or ():
            here = (*path, Location(helper.module.path, node.lineno, node.col_offset + 1))
            if isinstance(what, Helper):
                if level < MAX_LEVELS:
                    yield from self.reached(node, what, helper.module, inner_scope, level + 1, here)
                continue
            for result in self.folder.fold_all(argument, helper.module, inner_scope):
                yield Reached(what, helper, result, here)


def _mentions(call: ast.Call, names: frozenset[str]) -> bool:
    """Does any argument of the call use one of the names?"""
    arguments = [*call.args, *(k.value for k in call.keywords)]
    return any(isinstance(n, ast.Name) and n.id in names for a in arguments for n in ast.walk(a))


# -- the names worth following, found in the bytes before any parse ---------------------------

_DEF = re.compile(rb"^([ \t]*)(?:async[ \t]+)?def[ \t]+(\w+)[ \t]*\(", re.M)
_CALL = re.compile(rb"\b([A-Za-z_]\w*)\s*\(")


@dataclass(frozen=True)
class Definition:
    """A `def` as the bytes show it: up to the next `def` of the file."""

    name: str
    module_level: bool
    runs_sql: bool  # an execute-like call in its text
    calls: frozenset[str]  # the names it calls


def definitions(data: bytes, execute_call: re.Pattern[bytes]) -> list[Definition]:
    """Every function of the file, with whether it runs SQL and what it calls. Approximate (a
    nested def ends its parent's text): the parse decides which really are helpers."""
    starts = [(m.start(), len(m.group(1)), m.group(2).decode()) for m in _DEF.finditer(data)]
    found = []
    for index, (start, indent, name) in enumerate(starts):
        end = starts[index + 1][0] if index + 1 < len(starts) else len(data)
        body = data[data.find(b"(", start, end) : end]
        calls = frozenset(m.group(1).decode() for m in _CALL.finditer(body))
        found.append(Definition(name, indent == 0, execute_call.search(body) is not None, calls))
    return found


def helper_names(definitions: list[Definition], levels: int = MAX_LEVELS) -> tuple[set[str], set[str]]:
    """Names of the functions that may run SQL themselves or through other such functions, up
    to `levels` deep: (all of them, the module-level ones)."""
    names = {d.name for d in definitions if d.runs_sql}
    for _ in range(levels):
        more = {d.name for d in definitions if d.name not in names and d.calls & names}
        if not more:
            break
        names |= more
    return names, {d.name for d in definitions if d.module_level and d.name in names}
