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
import bisect
import re
from dataclasses import dataclass
from typing import Iterator

from auditor.model import Location
from auditor.python.constants import PARAMETER_REASON, Argument, ConstantFolder, Folded, Scope, Unresolved
from auditor.python.files import execute_call_spans
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

    def __init__(self, index: ProjectIndex, folder: ConstantFolder, is_execute_call, calls_in, module_level: frozenset[str] | None = None):
        self.index = index
        self.folder = folder
        # calls_in(function, module) -> the calls on the lines of the function that name an
        # execute-like or helper name: the extractor's own pre-filter, so no whole-function walk
        self.calls_in = calls_in
        # The files that can define a helper (they run SQL, or call a helper): a module outside
        # them is not read to look for one, but a package's __init__ may re-export one.
        self.sql_files: frozenset[str] | None = None
        # Names of the module-level functions that may be helpers (None: any): a call of any
        # other function is not looked up, so its module is not read.
        self.module_level = module_level
        # is_execute_call(call, module) -> (api, sql argument) | None: the extractor's own test
        self.is_execute_call = is_execute_call
        self._helpers: dict[int, list | None] = {}  # id(function) -> its statements, None: not a helper
        self._scopes: dict[int, Scope] = {}
        self._owners: dict[str, dict[int, ast.ClassDef]] = {}

    # -- which function a call goes into ---------------------------------------------------

    def forget(self, module_level: frozenset[str]) -> None:
        """Start again with more candidate names: which functions are helpers may change."""
        self.module_level = module_level
        self._helpers.clear()

    def defined_in(self, module: ModuleInfo) -> list[str]:
        """The module-level functions of the module that are helpers: those that run SQL their
        parameters reach, or pass their parameters on to another helper."""
        return sorted(n for n, f in module.functions.items() if self.calls_in(f, module) and self._statements(Helper(f, module, False)))

    def callee(self, call: ast.Call, module: ModuleInfo, function: ast.AST | None) -> Helper | None:
        """The project helper the call goes into, if the called function is known and is one."""
        target = self._resolve(call.func, module, function)
        if target is None:
            return None
        helper = Helper(*target)
        return helper if self._statements(helper) else None

    def _resolve(self, func: ast.expr, module: ModuleInfo, function: ast.AST | None):
        if isinstance(func, ast.Name):
            return self._function(module, func.id) if self._may_be_helper(func.id) else None
        if not isinstance(func, ast.Attribute):
            return None
        receiver = func.value
        if isinstance(receiver, ast.Name) and receiver.id in ("self", "cls") and function is not None:
            owner = self.owner(module, function)
            return self._method(module, owner, func.attr, 0) if owner is not None else None
        if isinstance(receiver, ast.Name) and receiver.id in module.imports and self._may_be_helper(func.attr):
            source, attribute = module.imports[receiver.id]
            dotted = source if attribute is None else f"{source}.{attribute}"
            target = self.index.load(dotted) if self._may_define(dotted, True) else None
            if target is not None:
                found = target.functions.get(func.attr)
                return (found, target, False) if found is not None else None
        return None

    def _may_define(self, dotted: str, defines: bool) -> bool:
        """Can this module hold the helper (`defines`) or re-export it (a package)?"""
        if self.sql_files is None:
            return True
        relative = self.index.relative_path(dotted)
        return relative is not None and (relative in self.sql_files or (not defines and relative.endswith("__init__.py")))

    def _may_be_helper(self, name: str) -> bool:
        return self.module_level is None or name in self.module_level

    def _function(self, module: ModuleInfo, name: str, depth: int = 0):
        if name in module.functions:
            return module.functions[name], module, False
        if name in module.imports and depth < 3:
            source, attribute = module.imports[name]
            target = self.index.load(source) if attribute is not None and self._may_define(source, False) else None
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
                target = self.index.load(source) if self._may_define(source, True) else None
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
        arguments = helper.function.args
        named = [*arguments.posonlyargs, *arguments.args][helper.is_method:] + arguments.kwonlyargs
        if not named and not arguments.vararg and not arguments.kwarg:
            return None  # no parameter can reach its SQL
        parameters = frozenset(a.arg for a in [*named, arguments.vararg, arguments.kwarg] if a)
        found = []
        for node in self.calls_in(helper.function, helper.module):
            execute = self.is_execute_call(node, helper.module)
            if execute is not None:
                api, argument = execute
                if not any(isinstance(n, ast.Name) for n in ast.walk(argument)):
                    continue  # constant text: no parameter reaches it (and no scope to build)
                if parameters_reached(self.folder.fold_all(argument, helper.module, self.scope(helper.function))):
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

_DEF = re.compile(rb"def[ \t]+(\w+)[ \t]*\(")  # a literal prefix, no \b: far faster (the word boundary is checked after)
_LINE_START = re.compile(rb"[ \t]*(?:async[ \t]+)?")


_WORD = re.compile(rb"[A-Za-z_]\w*+")
_STRING_START = re.compile(rb"(?i)([rbuf]{0,2})(\"\"\"|\'\'\'|\"|\')")
SCAN_LIMIT = 4000  # bytes of one call's argument looked at


def _argument_words(data: bytes, open_paren: int, first_only: bool) -> tuple[set[bytes], bool]:
    """The names in a call's arguments (its first only, with `first_only`), after the `(` at
    `open_paren`: outside string literals and inside f-strings; and whether that argument is a
    bare name. A byte-level approximation, good enough to choose which functions to parse."""
    words: set[bytes] = set()
    depth, i, start = 0, open_paren + 1, open_paren + 1
    end = min(len(data), start + SCAN_LIMIT)
    while i < end:
        string = _STRING_START.match(data, i) if data[i : i + 1] in b"\"'rbufRBUF" else None
        if string is not None and (i == 0 or not (data[i - 1 : i].isalnum() or data[i - 1 : i] == b"_")):
            quote, close = string.group(2), string.end()
            while True:  # the closing quote, past escaped ones
                close = data.find(quote, close)
                if close == -1 or data[close - 1 : close] != b"\\":
                    break
                close += 1
            stop = end if close == -1 else close + len(quote)
            if b"f" in string.group(1).lower():
                words.update(_WORD.findall(data, string.end(), stop))
            i = stop
            continue
        c = data[i]
        if c in b"([{":
            depth += 1
        elif c in b")]}":
            if depth == 0:
                break
            depth -= 1
        elif c == 44 and depth == 0 and first_only:  # 44: ","
            break
        i += 1
    text = data[start:i]
    words.update(_WORD.findall(data, start, i) if b"\"" not in text and b"'" not in text else _WORD.findall(_outside_strings(text)))
    return words, re.fullmatch(rb"\s*[A-Za-z_]\w*\s*", text) is not None


def _outside_strings(text: bytes) -> bytes:
    return re.sub(rb"(?s)(\"\"\".*?\"\"\"|\'\'\'.*?\'\'\'|\"(?:\\.|[^\"\\])*\"|\'(?:\\.|[^\'\\])*\')", b" ", text)


def _assigned_words(data: bytes, names: set[bytes], start: int, end: int) -> set[bytes]:
    """The name itself and the words on the lines that assign it (`sql = ...`, `sql += ...`)
    between `start` and `end`: a parameter among them may reach the SQL."""
    words = set(names)
    for name in names:
        for line in re.finditer(rb"^[ \t]*" + re.escape(name) + rb"[ \t]*[+]?=(?!=)([^\n]*)", data[start:end], re.M):
            words.update(_WORD.findall(line.group(1)))
    return words


@dataclass(frozen=True)
class HelperNames:
    """Names of the project's functions that may run SQL: module-level functions (followed when
    called by name or through their module) and methods (followed when called on self or cls)."""

    functions: frozenset[str] = frozenset()
    methods: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.functions or self.methods)

    def __or__(self, other: "HelperNames") -> "HelperNames":
        return HelperNames(self.functions | other.functions, self.methods | other.methods)

    def union(self, others) -> "HelperNames":
        result = self
        for other in others:
            result = result | other
        return result

    def without(self, names: set[str]) -> "HelperNames":
        return HelperNames(self.functions - names, self.methods - names)

    def called(self, name: str, on_self: bool) -> bool:
        return name in self.functions or (on_self and name in self.methods)


def file_helper_names(data: bytes, excluded: frozenset[str] = frozenset()) -> HelperNames:
    """The functions of one file whose own execute-like call's SQL may take one of their
    parameters (helpers of helpers are found by the parse). Only the defs that hold an
    execute-like call are looked at."""
    calls = execute_call_spans(data)
    if not calls:
        return HelperNames()
    defs = [d for d in _DEF.finditer(data, 0, calls[-1][0]) if not _word_byte(data, d.start() - 1)]
    positions = [d.start() for d in defs]
    functions, methods, seen = set(), set(), set()
    for start, _ in calls:
        index = bisect.bisect_right(positions, start) - 1
        if index < 0 or index in seen:
            continue
        seen.add(index)
        match = defs[index]
        line = data.rfind(b"\n", 0, match.start()) + 1
        if not _LINE_START.fullmatch(data, line, match.start()):
            continue  # "def" in a string or comment
        end = positions[index + 1] if index + 1 < len(positions) else len(data)
        parameters = _argument_words(data, match.end() - 1, False)[0] - {b"self", b"cls"}
        for inner_start, paren in calls[bisect.bisect_left(calls, (match.end(), 0)) :]:
            if inner_start >= end:
                break
            words, bare = _argument_words(data, paren, True)
            if bare:
                words = _assigned_words(data, words, match.end(), inner_start)
            if words & parameters:
                name = match.group(1).decode()
                if name not in excluded:
                    prefix = data[line : match.start()]  # "", "async ", or indentation: a method
                    (functions if prefix == prefix.lstrip(b" \t") else methods).add(name)
                break
    return HelperNames(frozenset(functions), frozenset(methods))


def _word_byte(data: bytes, index: int) -> bool:
    return index >= 0 and (data[index : index + 1].isalnum() or data[index] == 95)  # 95: "_"
