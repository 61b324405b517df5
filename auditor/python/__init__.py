"""Finding SQL handed to execute-like calls in Python code, by reading it (never importing it).

One byte pre-filter, one `ast` parse, one visitor pass per file; LibCST only for
files whose syntax the running Python cannot parse.
"""

from __future__ import annotations

import ast
import gc
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from auditor.model import Diagnostic
from auditor.python.cache import Entry, ExtractionCache, content_hash
from auditor.python.calls import execute_calls
from auditor.python.constants import ConstantFolder
from auditor.python.drivers import module_driver
from auditor.python.files import PREFILTER, decode_source, python_files
from auditor.python.modules import ProjectIndex, module_info, module_name_for
from auditor.sites import SqlCall
from auditor.suppression import MARKER, Suppression, find_suppressions


@dataclass
class PythonScan:
    calls: list[SqlCall] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    files_seen: int = 0
    files_parsed: int = 0
    files_cached: int = 0  # taken from the cache instead of parsed
    suppressions: list[Suppression] = field(default_factory=list)


def _parse(text: str) -> ast.Module:
    # The cyclic GC does nothing useful while a tree is being built and costs a lot on big files.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return ast.parse(text)
    finally:
        if enabled:
            gc.enable()


def scan_file(path: Path, root: Path, index: ProjectIndex, folder: ConstantFolder, scan: PythonScan, cache: ExtractionCache) -> None:
    relative = path.relative_to(root)
    rel = relative.as_posix()
    try:
        data = path.read_bytes()
    except OSError as error:
        scan.diagnostics.append(Diagnostic(rel, f"could not be read: {error.strerror or error}", None, "read-error"))
        return
    if MARKER in data:
        scan.suppressions.extend(find_suppressions(rel, data))
    if not PREFILTER.search(data):
        return
    digest = content_hash(data)
    entry = cache.get(rel, digest)
    if entry is not None and all(index.module_hash(m) == h for m, h in entry.dependencies):
        scan.files_cached += 1
        scan.calls.extend(entry.calls)
        scan.diagnostics.extend(entry.diagnostics)
        return
    index.consulted.clear()
    calls_before, diagnostics_before = len(scan.calls), len(scan.diagnostics)
    extract(path, relative, data, index, folder, scan)
    dependencies = tuple((m, index.module_hash(m)) for m in sorted(index.consulted))
    cache.put(rel, Entry(digest, tuple(scan.calls[calls_before:]), tuple(scan.diagnostics[diagnostics_before:]), dependencies))


def extract(path: Path, relative: Path, data: bytes, index: ProjectIndex, folder: ConstantFolder, scan: PythonScan) -> None:
    """Parse one file and add its execute calls (or the reason it cannot be read) to the scan."""
    rel = relative.as_posix()
    scan.files_parsed += 1
    source = decode_source(data)
    if source.text is None:
        scan.diagnostics.append(Diagnostic(rel, source.error, None, "decode-error"))
        return
    try:
        tree = _parse(source.text)
    except SyntaxError as error:
        from auditor.python.fallback import scan_with_libcst  # LibCST loads only when needed

        calls = scan_with_libcst(source.text, rel)
        if calls is None:
            scan.diagnostics.append(Diagnostic(rel, f"not valid Python: {error.msg}", error.lineno, "syntax-error"))
        else:
            scan.calls.extend(calls)
        return
    name, is_package = module_name_for(relative)
    info = module_info(tree, name, rel, is_package)
    index.register(info)
    scan.calls.extend(execute_calls(tree, source.text, info, folder, module_driver(source.text)))


def scan_python_files(
    root: Path, files: list[Path], progress: Callable[[int, int], None] | None = None, use_cache: bool = False
) -> PythonScan:
    """Scan every file; `progress(done, total)` is called now and then for a progress bar."""
    root = Path(root).resolve()
    index = ProjectIndex(root)
    folder = ConstantFolder(index)
    cache = ExtractionCache(root, enabled=use_cache)
    scan = PythonScan(files_seen=len(files))
    for done, path in enumerate(files, 1):
        scan_file(Path(path).resolve(), root, index, folder, scan, cache)
        if progress is not None and (done % 50 == 0 or done == len(files)):
            progress(done, len(files))
    cache.save()
    return scan


__all__ = ["PythonScan", "python_files", "scan_python_files"]
