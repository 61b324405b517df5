"""Read Python schema sources (models, migrations) statically: parse, never import.

Schema readers (Alembic, SQLAlchemy, Django, peewee) share this: find the
modules that mention their framework with a byte pre-filter, parse each with
`ast` (the fast stdlib parser; the audit's speed budget is `ast.parse`), and
evaluate the literal values their calls are made of. A module that cannot be
read or parsed is a diagnostic, never a crash.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.model import Diagnostic
from auditor.python.files import decode_source
from auditor.python.modules import module_file
from auditor.python.sinks import dotted_name  # the extractor's, shared: `sa.Column`, `op.create_table`
from auditor.python.syntax import parse_module as parse_python
from auditor.schema import read_log


class FinalName(str):
    """A name the code marks as final (`op.f("pk_x")`, `conv("pk_x")`): a naming
    convention does not rewrite it, as SQLAlchemy's `conv` is not rewritten."""


# Callees that wrap a name to mark it final: Alembic's `op.f` / `batch_op.f`, SQLAlchemy's `conv`.
FINAL_NAME_CALLS = ("f", "conv")


class NotLiteral(Exception):
    """The expression's value is not known without running code."""


class UnreadableSource(Exception):
    """A schema construct whose meaning needs running code: the reader reports it, skips it,
    and goes on with the rest."""


@dataclass
class PythonModule:
    path: Path
    relative: str  # POSIX, relative to the project root
    tree: ast.Module
    constants: dict[str, ast.expr] = field(default_factory=dict)  # module-level NAME = value

    def literal(self, node: ast.expr | None) -> Any:
        return literal(node, self.constants)


def module_constants(tree: ast.Module) -> dict[str, ast.expr]:
    """Top-level single-target assignments, last one wins (what a reader sees at import end)."""
    constants: dict[str, ast.expr] = {}
    for statement in tree.body:
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1 and isinstance(statement.targets[0], ast.Name):
            constants[statement.targets[0].id] = statement.value
        elif isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name) and statement.value is not None:
            constants[statement.target.id] = statement.value
    return constants


class ModuleConstants(dict):
    """A module's top-level constants, plus the names it imports from other modules of the
    project (`from app.constants import TABLE`, `from app import constants` then
    `constants.TABLE`): those are read from their module, evaluated there, on first use."""

    def __init__(self, own: dict, imports: dict[str, tuple[str, str | None]], load):
        super().__init__(own)
        self.imports = imports  # local name -> (module, name in it) or (module, None) for `import a.b as x`
        self.load = load  # module name -> ModuleConstants of that project module, or None

    def extended(self, extra: dict) -> "ModuleConstants":
        found = ModuleConstants(self, self.imports, self.load)
        found.update(extra)
        return found

    def __contains__(self, key) -> bool:
        return dict.__contains__(self, key) or self._resolve(key)

    def __getitem__(self, key):
        if not dict.__contains__(self, key):
            self._resolve(key)
        return dict.__getitem__(self, key)

    def get(self, key, default=None):
        return self[key] if key in self else default

    def _resolve(self, key) -> bool:
        if not isinstance(key, str):
            return False
        alias, _, attribute = key.partition(".")
        if alias not in self.imports or "." in attribute:
            return False
        module, name = self.imports[alias]
        if attribute:  # constants.TABLE: `alias` must be a module
            module, name = (f"{module}.{name}" if name else module), attribute
        elif name is None:
            return False
        other = self.load(module)
        if other is None or not dict.__contains__(other, name):
            return False
        try:
            found = literal(dict.__getitem__(other, name), other)
        except NotLiteral:
            return False
        dict.__setitem__(self, key, ast.Constant(found))  # the value, evaluated where it was written
        return True


def module_imports(tree: ast.Module, package: str) -> dict[str, tuple[str, str | None]]:
    """Top-level imports: local name -> (absolute module, imported name or None)."""
    found: dict[str, tuple[str, str | None]] = {}
    for statement in tree.body:
        if isinstance(statement, ast.ImportFrom):
            base = statement.module or ""
            if statement.level:
                parts = package.split(".") if package else []
                parts = parts[: len(parts) - statement.level + 1] if statement.level > 1 else parts
                base = ".".join(parts + ([base] if base else []))
            for alias in statement.names:
                found[alias.asname or alias.name] = (base, alias.name)
        elif isinstance(statement, ast.Import):
            for alias in statement.names:
                if alias.asname:
                    found[alias.asname] = (alias.name, None)
    return found


class ProjectConstants:
    """Constants of the project's modules by module name, parsed once each (only their constants are kept)."""

    def __init__(self, root: Path):
        self.root = root
        self.cache: dict[str, tuple[tuple | None, ModuleConstants | None]] = {}

    def path_of(self, module: str) -> Path | None:
        return module_file(self.root, module)

    def __call__(self, module: str) -> ModuleConstants | None:
        path = self.path_of(module)
        if path is not None:
            read_log.note(path)  # kept across readings in this process: the cache must still see the dependency
        try:
            stamp = (path, path.stat().st_mtime_ns) if path else None
        except OSError:
            stamp = None
        cached = self.cache.get(module)
        if cached is None or cached[0] != stamp:  # new, or the file changed since (a long-lived process)
            self.cache[module] = (stamp, None)  # an import cycle reads as unknown
            parsed, _ = parse_module(path, self.root, self) if stamp else (None, None)
            self.cache[module] = (stamp, parsed.constants if parsed else None)
        return self.cache[module][1]


_PROJECTS: dict[Path, ProjectConstants] = {}


def project_constants(root: Path) -> ProjectConstants:
    """One cache per project root and audit (bounded: a long-lived process audits many roots)."""
    if len(_PROJECTS) > 8:
        _PROJECTS.clear()
    return _PROJECTS.setdefault(root.resolve(), ProjectConstants(root.resolve()))


def with_constants(constants: dict, extra: dict) -> dict:
    """`constants` and `extra` (loop variables, a function's own assignments), imports still resolving."""
    return constants.extended(extra) if isinstance(constants, ModuleConstants) else {**constants, **extra}


def relative_path(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def module_name(relative: str) -> tuple[str, str]:
    """(module, package) of a project-relative path: `app/models.py` -> ("app.models", "app")."""
    parts = relative[:-3].split("/") if relative.endswith(".py") else relative.split("/")
    if parts and parts[0] == "src":
        parts = parts[1:]
    if parts and parts[-1] == "__init__":
        parts = parts[:-1]
        return ".".join(parts), ".".join(parts)
    return ".".join(parts), ".".join(parts[:-1])


def parse_module(path: Path, root: Path, project: "ProjectConstants | None" = None) -> tuple[PythonModule | None, Diagnostic | None]:
    relative = relative_path(path, root)
    try:
        source = read_log.read_bytes(path)
        decoded = decode_source(source)
        if decoded.text is None:
            raise ValueError(decoded.error)
        tree = parse_python(decoded.text)
    except (OSError, SyntaxError, ValueError, RecursionError, MemoryError) as error:
        line = getattr(error, "lineno", None)
        reason = error.msg if isinstance(error, SyntaxError) else str(error) or type(error).__name__
        return None, Diagnostic(relative, f"schema source not read: {reason}", line, "schema-source-error")
    _, package = module_name(relative)
    constants = ModuleConstants(module_constants(tree), module_imports(tree, package), project or project_constants(root))
    return PythonModule(path, relative, tree, constants), None


def modules_mentioning(root: Path, files: list[Path], needles: tuple[bytes, ...]) -> tuple[list[PythonModule], list[Diagnostic]]:
    """Parse the files whose bytes contain any needle (a cheap pre-filter), in the given order."""
    modules: list[PythonModule] = []
    diagnostics: list[Diagnostic] = []
    for path in files:
        try:
            data = read_log.read_bytes(path)
        except OSError:
            continue  # the Python extractor reports unreadable files once
        if not any(needle in data for needle in needles):
            continue
        module, diagnostic = parse_module(path, root)
        if module is not None:
            modules.append(module)
        if diagnostic is not None:
            diagnostics.append(diagnostic)
    return modules, diagnostics


def call_name(node: ast.expr | None) -> str | None:
    """The dotted name of a call's callee (`models.CharField`), or None."""
    return dotted_name(node.func) if isinstance(node, ast.Call) else None


def short_name(node: ast.expr | None) -> str | None:
    """`Model` of `Model` and of `peewee.Model` (a base class, a model, a function named as a
    default); None for anything else."""
    return node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else None


def last_name(dotted: str | None) -> str | None:
    """`sa.UniqueConstraint` -> `UniqueConstraint` (how most readers match a callee)."""
    return dotted.rsplit(".", 1)[-1] if dotted else None


def keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


CONTAINERS = {"set", "frozenset", "tuple", "list"}


def literal(node: ast.expr | None, constants: dict[str, ast.expr] | None = None, _depth: int = 0) -> Any:
    """The value of a literal expression: constants, str/bytes, lists/tuples/sets/dicts of
    them, `set()` / `frozenset(...)` / `tuple(...)` / `list(...)` of one, implicit and `+` string
    concatenation, and names bound to such values at module level (a set reads as a list).
    Raise NotLiteral for anything that needs running code."""
    if node is None:
        return None
    if _depth > 50:
        raise NotLiteral("too deep")
    again = lambda n: literal(n, constants, _depth + 1)  # noqa: E731
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        values = [again(e) for e in node.elts]
        return tuple(values) if isinstance(node, ast.Tuple) else values
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in CONTAINERS and not node.keywords and len(node.args) <= 1:
        values = list(again(node.args[0])) if node.args else []  # makemigrations writes unique_together=set()
        return tuple(values) if node.func.id == "tuple" else values
    if isinstance(node, ast.Call) and _final_name_call(node):
        name = again(node.args[0])
        if isinstance(name, str):
            return FinalName(name)
    if isinstance(node, ast.JoinedStr):
        try:
            return "".join(_formatted(part, again) for part in node.values)
        except NotLiteral:
            raise NotLiteral(ast.unparse(node)[:80]) from None  # name the whole f-string
    if isinstance(node, ast.Dict):
        if any(k is None for k in node.keys):
            raise NotLiteral("dict unpacking")
        return {again(k): again(v) for k, v in zip(node.keys, node.values)}
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = again(node.left), again(node.right)
        if type(left) is type(right) and isinstance(left, (str, list, tuple)):
            return left + right
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        value = again(node.operand)
        if isinstance(value, (int, float)):
            return -value
    if isinstance(node, ast.Name) and constants is not None and node.id in constants and constants[node.id] is not node:
        return again(constants[node.id])
    if isinstance(node, ast.Attribute) and constants is not None and (dotted := dotted_name(node)) and dotted in constants:
        return again(constants[dotted])  # module.CONSTANT of an imported project module
    raise NotLiteral(ast.unparse(node)[:80] if hasattr(ast, "unparse") else type(node).__name__)


def _final_name_call(node: ast.Call) -> bool:
    """`op.f("x")`, `batch_op.f("x")`, `conv("x")`, `sa.sql.elements.conv("x")`; a bare `f(...)` is any function."""
    if len(node.args) != 1 or node.keywords:
        return False
    name = dotted_name(node.func)
    if name is None:
        return False
    return name == "conv" or "." in name and name.rsplit(".", 1)[-1] in FINAL_NAME_CALLS


def _formatted(part: ast.expr, evaluate) -> str:
    """One piece of an f-string: its text, or a known str/int value placed without a format spec."""
    if isinstance(part, ast.Constant):
        return str(part.value)
    if isinstance(part, ast.FormattedValue) and part.format_spec is None and part.conversion in (-1, ord("s")):
        found = evaluate(part.value)
        if isinstance(found, str) or isinstance(found, int) and not isinstance(found, bool):
            return str(found)
    raise NotLiteral(ast.unparse(part)[:80])


def try_literal(node: ast.expr | None, constants: dict[str, ast.expr] | None = None, default: Any = None) -> Any:
    try:
        return literal(node, constants)
    except NotLiteral:
        return default


def value(module: PythonModule, node: ast.expr | None, default: Any = None) -> Any:
    """A construct's literal argument, or `default` when it is absent; UnreadableSource if
    it is not a literal (readers turn that into a diagnostic)."""
    if node is None:
        return default
    try:
        return literal(node, module.constants)
    except NotLiteral as error:
        raise UnreadableSource(f"not a literal: {error}") from None
