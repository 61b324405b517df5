"""The project's modules as constant tables: what each module-level name is bound to.

Only what constant folding and following calls need: names assigned exactly once at
module level, what each imported name refers to, and the module's functions and classes. Modules are read lazily, when a name
imported from them is looked up, and cached for the run. Nothing is imported.
"""

from __future__ import annotations

import ast
import gc
from dataclasses import dataclass, field
from pathlib import Path

from auditor.python.drivers import module_driver
from auditor.python.files import decode_source
from auditor.python.syntax import parse_module


@dataclass
class ModuleInfo:
    name: str  # dotted module name ("" if unknown)
    path: str  # relative to the project root, POSIX
    is_package: bool = False
    constants: dict[str, ast.expr] = field(default_factory=dict)  # bound once at module level
    rebound: set[str] = field(default_factory=set)  # bound more than once: not a constant
    imports: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # alias -> (module, attribute)
    # Module-level functions and classes, for following calls into the project's own helpers.
    functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = field(default_factory=dict)
    classes: dict[str, ast.ClassDef] = field(default_factory=dict)
    driver: str | None = None  # the database driver its imports name (auditor.python.drivers)
    source: str = ""  # its text: the extractor's pre-filter reads it for lines worth a walk
    hits: list[int] | None = None  # those lines, once found

    @property
    def package(self) -> str:
        return self.name if self.is_package else self.name.rpartition(".")[0]


def _bound_names(statement: ast.stmt) -> list[str]:
    if isinstance(statement, ast.Assign):
        return [n.id for t in statement.targets for n in ast.walk(t) if isinstance(n, ast.Name)]
    if isinstance(statement, (ast.AnnAssign, ast.AugAssign)) and isinstance(statement.target, ast.Name):
        return [statement.target.id]
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [statement.name]
    return []


def resolve_relative(package: str, module: str | None, level: int) -> str:
    """`from ..x import y` inside package a.b.c -> a.x (level 2)."""
    if level == 0:
        return module or ""
    parts = package.split(".") if package else []
    base = parts[: len(parts) - (level - 1)] if level > 1 else parts
    return ".".join([*base, module] if module else base)


def module_info(tree: ast.Module, name: str, path: str, is_package: bool) -> ModuleInfo:
    info = ModuleInfo(name, path, is_package)
    counts: dict[str, int] = {}
    for statement in tree.body:
        for bound in _bound_names(statement):
            counts[bound] = counts.get(bound, 0) + 1
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1 and isinstance(statement.targets[0], ast.Name):
            info.constants[statement.targets[0].id] = statement.value
        elif isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name) and statement.value is not None:
            info.constants[statement.target.id] = statement.value
        elif isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            info.functions[statement.name] = statement
        elif isinstance(statement, ast.ClassDef):
            info.classes[statement.name] = statement
        elif isinstance(statement, ast.Import):
            for alias in statement.names:
                if alias.asname:
                    info.imports[alias.asname] = (alias.name, None)
                else:  # `import a.b` binds `a`
                    top = alias.name.split(".")[0]
                    info.imports[top] = (top, None)
        elif isinstance(statement, ast.ImportFrom):
            source = resolve_relative(info.package, statement.module, statement.level)
            for alias in statement.names:
                info.imports[alias.asname or alias.name] = (source, alias.name)
    info.rebound = {n for n, c in counts.items() if c > 1}
    for rebound in info.rebound:
        info.constants.pop(rebound, None)
    return info


def module_name_for(relative: Path) -> tuple[str, bool]:
    """Dotted name of a file relative to the root, and whether it is a package."""
    parts = list(relative.with_suffix("").parts)
    if parts and parts[0] == "src":
        parts = parts[1:]
    is_package = bool(parts) and parts[-1] == "__init__"
    if is_package:
        parts = parts[:-1]
    return ".".join(parts), is_package


def module_file(root: Path, dotted: str) -> Path | None:
    """The file of a dotted module name under the root (or root/src): `a/b.py` or `a/b/__init__.py`."""
    relative = Path(*dotted.split(".")) if dotted else None
    if relative is None:
        return None
    for base in (root, root / "src"):
        for candidate in (base / relative.with_suffix(".py"), base / relative / "__init__.py"):
            if candidate.is_file():
                return candidate
    return None


class ProjectIndex:
    """Lazily built ModuleInfo for every project module that folding asks about."""

    def __init__(self, root: Path):
        self.root = root
        self._by_name: dict[str, ModuleInfo | None] = {}
        self._hashes: dict[str, str | None] = {}
        self.consulted: set[str] = set()  # modules looked up since the caller last cleared it

    def module_hash(self, dotted: str) -> str | None:
        """Content hash of the module's file, None if the project has no such module."""
        if dotted not in self._hashes:
            from auditor.python.cache import content_hash

            path = self._find(dotted)
            try:
                self._hashes[dotted] = content_hash(path.read_bytes()) if path else None
            except OSError:
                self._hashes[dotted] = None
        return self._hashes[dotted]

    def register(self, info: ModuleInfo) -> None:
        self._by_name.setdefault(info.name, info)

    def _find(self, dotted: str) -> Path | None:
        return module_file(self.root, dotted)

    def relative_path(self, dotted: str) -> str | None:
        """The module's file, relative to the root (POSIX), if the project has it."""
        path = self._find(dotted)
        return path.relative_to(self.root).as_posix() if path is not None else None

    def forget_hits(self) -> None:
        """The lines worth a walk depend on the helper names: found again when next asked."""
        for info in self._by_name.values():
            if info is not None:
                info.hits = None

    def is_package(self, dotted: str) -> bool:
        path = self._find(dotted)
        return path is not None and path.name == "__init__.py"

    def is_module(self, dotted: str) -> bool:
        self.consulted.add(dotted)
        return self._find(dotted) is not None

    def load(self, dotted: str) -> ModuleInfo | None:
        self.consulted.add(dotted)
        if dotted in self._by_name:
            return self._by_name[dotted]
        self._by_name[dotted] = None  # guards import cycles while loading
        path = self._find(dotted)
        if path is None:
            return None
        source = decode_source(path.read_bytes())
        if source.text is None:
            return None
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            tree = parse_module(source.text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None  # its constants stay unknown; the caller reports the site unresolved
        finally:
            if gc_was_enabled:
                gc.enable()
        relative = path.relative_to(self.root)
        info = module_info(tree, dotted, relative.as_posix(), path.name == "__init__.py")
        info.driver = module_driver(source.text)
        info.source = source.text
        self._by_name[dotted] = info
        return info
