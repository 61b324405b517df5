"""Finding SQL handed to execute-like calls in Python code, by reading it (never importing it).

One byte pre-filter, one `ast` parse, one visitor pass per file; LibCST only for
files whose syntax the running Python cannot parse (`syntax.parse_module`).
"""

from __future__ import annotations

import ast
import gc
import hashlib
import os
import re
import signal
import threading
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path, PurePosixPath
from typing import Callable, Iterator

from auditor.model import Diagnostic
from auditor.python.cache import Entry, ExtractionCache, HelperNameCache, content_hash
from auditor.python.calls import EXECUTE_NAMES, HELPER_NAMES, candidate_calls, execute_calls, execute_like, hit_lines
from auditor.python.constants import ConstantFolder
from auditor.python.drivers import declared_dialects, module_driver
from auditor.python.files import calls_one_of, decode_source, imported_words, is_test_file, may_define_insert_helper, may_hold_orm_idiom, may_hold_sql_call, python_files
from auditor.python.idioms import FunctionIdioms, find_idioms, known_sql_of
from auditor.python.module_helpers import ImportedHelpers, ModuleHelpers
from auditor.python.operations import Operation
from auditor.python.modules import ModuleInfo, ProjectIndex, module_info, module_name_for
from auditor.python.project_helpers import MAX_LEVELS, ProjectHelpers
from auditor.python.project_helpers import file_helper_names
from auditor.python.project_helpers import HelperNames
from auditor.python.sinks import Sink, name_pattern
from auditor.python.syntax import parse_module
from auditor.sites import IdiomCall, SqlCall
from auditor.suppression import MARKER, Suppression, find_suppressions


@dataclass
class PythonScan:
    calls: list[SqlCall] = field(default_factory=list)
    idioms: list[IdiomCall] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    files_seen: int = 0
    files_parsed: int = 0
    files_cached: int = 0  # taken from the cache instead of parsed
    suppressions: list[Suppression] = field(default_factory=list)
    tests_without_idioms: int = 0  # test files whose race idioms were not read (idioms-in-tests)
    declared: Counter[str] = field(default_factory=Counter)  # files (not tests) configuring an ORM for each dialect


def _parse(text: str) -> ast.Module:
    # The cyclic GC does nothing useful while a tree is being built and costs a lot on big files.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return parse_module(text)
    finally:
        if enabled:
            gc.enable()


@dataclass(frozen=True)
class Extraction:
    """What one parsed file contributes, and which project modules its folding consulted."""

    calls: tuple[SqlCall, ...]
    diagnostics: tuple[Diagnostic, ...]
    dependencies: tuple[tuple[str, str | None], ...]
    idioms: tuple[IdiomCall, ...] = ()
    helpers: tuple[str, ...] = ()  # its module-level functions that are the project's SQL helpers
    inserting: tuple[tuple[str, str], ...] = ()  # its module-level functions that insert, with their INSERT (a data layer's create_x)


class Extractor:
    """Parses files and folds their SQL. One per process: its index caches project modules."""

    def __init__(
        self, root: Path, sinks: tuple[Sink, ...] = (), names: HelperNames = HelperNames(), sql_files: frozenset[str] | None = None,
        idioms_in_tests: bool = True,
    ):
        self.root = root
        self.sinks = sinks
        self.idioms_in_tests = idioms_in_tests
        # Functions of the project that may run SQL (all; the module-level ones): calls of them are followed.
        self.names = names
        self.index = ProjectIndex(root)
        self.folder = ConstantFolder(self.index)
        self.helpers = ProjectHelpers(self.index, self.folder, partial(execute_like, sinks=sinks), self._calls_in, names.functions)
        self.helpers.sql_files = self.sql_files = sql_files
        # The project's module-level functions that insert, (module, function) -> their INSERT: set
        # for the data-layer rounds (run in this process), where calls of those a file imports are
        # read as inserts and their callers' idioms are found.
        self.imported_inserting: dict[tuple[str, str], str] = {}
        self._imported_ops: dict[tuple[str, int], Operation | None] = {}

    def describe_imported(self, info: ModuleInfo, function: ast.AST) -> Operation | None:
        """What calling a function of another project module does, read in its own module:
        its first insert, or the lookup it returns (idioms.FunctionIdioms.as_helper)."""
        key = (info.name, function.lineno)
        if key not in self._imported_ops:
            self._imported_ops[key] = None  # while it is read: a call back into it is nothing
            if info.hits is None:
                info.hits = hit_lines(info.source, self.sinks, self.names)
            calls = execute_calls(ast.Module(body=[function], type_ignores=[]), info.source, info, self.folder, info.driver,
                                  self.sinks, self.helpers, self.names, info.hits)

            # its own calls of the functions of its module and of other project modules (a
            # service's create_user_account calling its own helper, which calls the crud)
            def described(other: ast.AST, _owner) -> Operation | None:
                return self.describe_imported(info, other)

            around = ModuleHelpers(ast.Module(body=list(info.functions.values()), type_ignores=[]), described, described,
                                   ImportedHelpers(info, self.index, self.describe_imported, self.imported_inserting))
            self._imported_ops[key] = FunctionIdioms(function, info, known_sql_of(calls), info.driver, helpers=around).as_helper()
        return self._imported_ops[key]

    def _calls_in(self, function: ast.AST, module: ModuleInfo) -> list[ast.Call]:
        """The calls of a function that are on lines naming an execute-like or helper name."""
        if module.hits is None:
            module.hits = hit_lines(module.source, self.sinks, self.names)
        return [call for call, _, _ in candidate_calls(ast.Module(body=function.body, type_ignores=[]), module.hits)]

    def close(self) -> None:
        """Drop the project's trees and tables (the helper finder refers back to this extractor)."""
        self.helpers = self.index = self.folder = None

    def read_too(self, files: list[str]) -> None:
        """More files that can define a helper (they call one)."""
        if self.sql_files is not None:
            self.helpers.sql_files = self.sql_files = self.sql_files | frozenset(files)

    def knowledge(self) -> str:
        """What a file's extraction depends on beyond its bytes and its imports': the helpers and
        the files known so far. A later pass knows more, so its results are cached apart."""
        known = (sorted(self.names.functions), sorted(self.names.methods), sorted(self.sql_files or ()))
        return hashlib.blake2b(repr(known).encode(), digest_size=8).hexdigest()

    def learn(self, names: HelperNames) -> None:
        """More functions that may be helpers, from files read later: what was worked out
        without them is forgotten."""
        self.names = self.names | names.without(EXCLUDED_HELPER_NAMES)
        self.helpers.forget(self.names.functions)
        self.index.forget_hits()

    def extract(self, rel: str, data: bytes) -> Extraction:
        self.index.consulted.clear()
        helpers: list[str] = []
        inserting: list[tuple[str, str]] = []
        try:
            with time_limit(FILE_SECONDS):
                calls, idioms, diagnostics = self._extract(PurePosixPath(rel), data, helpers, inserting)
        except FileTimeout:
            calls, idioms, diagnostics = [], [], [Diagnostic(rel, f"took more than {FILE_SECONDS} s to analyse: skipped", None, "too-slow")]
        except (RecursionError, MemoryError):
            calls, idioms, diagnostics = [], [], [Diagnostic(rel, "too deeply nested to analyse", None, "too-complex")]
        except Exception as error:  # noqa: BLE001 - one file's surprise must not end the audit
            message = f"could not be analysed ({type(error).__name__}: {error}); please report this"
            calls, idioms, diagnostics = [], [], [Diagnostic(rel, message, None, "internal-error")]
        dependencies = tuple((m, self.index.module_hash(m)) for m in sorted(self.index.consulted))
        return Extraction(tuple(calls), tuple(diagnostics), dependencies, tuple(idioms), tuple(helpers), tuple(inserting))

    def _extract(self, relative: PurePosixPath, data: bytes, helpers: list[str], inserting: list[tuple[str, str]]) -> tuple[list[SqlCall], list[IdiomCall], list[Diagnostic]]:
        rel = relative.as_posix()
        source = decode_source(data)
        if source.text is None:
            return [], [], [Diagnostic(rel, source.error, None, "decode-error")]
        try:
            tree = _parse(source.text)
        except SyntaxError as error:
            return [], [], [Diagnostic(rel, f"not valid Python: {error.msg}", error.lineno, "syntax-error")]
        name, is_package = module_name_for(Path(relative))
        info = module_info(tree, name, rel, is_package)
        driver = info.driver = module_driver(source.text)
        info.source = source.text
        self.index.register(info)
        info.hits = hit_lines(source.text, self.sinks, self.names)
        calls = execute_calls(tree, source.text, info, self.folder, driver, self.sinks, self.helpers, self.names, info.hits)
        helpers.extend(self.helpers.defined_in(info))
        reads_idioms = self.idioms_in_tests or not is_test_file(rel)
        if not reads_idioms:
            return calls, [], []
        imported = ImportedHelpers(info, self.index, self.describe_imported, self.imported_inserting)
        return calls, find_idioms(tree, source.text, info, calls, driver, imported, inserting), []


# Names that are already write sites by themselves, or too generic to be worth a lookup.
EXCLUDED_HELPER_NAMES = EXECUTE_NAMES | HELPER_NAMES | {"__init__", "__call__", "__enter__", "__exit__", "__aenter__", "__aexit__"}


# Worker processes keep one Extractor each (set up by the pool's initializer).
_worker: Extractor | None = None


def _start_worker(root: Path, sinks: tuple[Sink, ...], names: HelperNames, sql_files: frozenset[str] | None, idioms_in_tests: bool) -> None:
    global _worker
    gc.disable()  # see scan_python_files
    _worker = Extractor(root, sinks, names, sql_files, idioms_in_tests)


def _extract_in_worker(item: tuple[str, bytes]) -> Extraction:
    return _worker.extract(*item)


FILE_SECONDS = 10  # per file: one pathological file must not stall a pre-commit run


class FileTimeout(Exception):
    pass


@contextmanager
def time_limit(seconds: float):
    """Raise FileTimeout in this thread after `seconds` (SIGALRM; a no-op off the main thread)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def expired(signum, frame):
        raise FileTimeout

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# Generated or vendored blobs this size are not hand-written data access code, and one
# of them must not stall a pre-commit run.
MAX_FILE_BYTES = 10_000_000

PARALLEL_MIN_FILES = 50  # below this, starting workers costs more than it saves (measured with bench/run.py)


def _extract_all(extractor: Extractor, pending: list[tuple[str, bytes]], jobs: int) -> Iterator[tuple[str, Extraction]]:
    """(path, extraction) of every pending file, in no particular order."""
    if jobs > 1 and len(pending) >= PARALLEL_MIN_FILES:
        from concurrent.futures import ProcessPoolExecutor

        # Biggest files first, in small chunks: no worker is left with a big file at the end.
        ordered = sorted(pending, key=lambda item: -len(item[1]))
        with ProcessPoolExecutor(jobs, initializer=_start_worker, initargs=(extractor.root, extractor.sinks, extractor.names, extractor.sql_files, extractor.idioms_in_tests)) as pool:
            yield from zip((rel for rel, _ in ordered), pool.map(_extract_in_worker, ordered, chunksize=4))
    else:
        for rel, data in pending:
            yield rel, extractor.extract(rel, data)


def default_jobs() -> int:
    return max(1, min(os.cpu_count() or 1, 4))


def scan_python_files(
    root: Path,
    files: list[Path],
    progress: Callable[[int, int], None] | None = None,
    use_cache: bool = False,
    jobs: int = 1,
    sinks: tuple[Sink, ...] = (),
    idioms_in_tests: bool = True,
) -> PythonScan:
    """Scan every file: read and pre-filter each (cheap), then parse the cache misses,
    in `jobs` processes on big trees. `progress(done, total)` feeds a progress bar.
    Without `idioms_in_tests`, a test file is parsed only for the SQL it runs."""
    root = Path(root).resolve()
    sink_names = re.compile(rb"\b(?:" + name_pattern(sinks).encode() + rb")\s*\(") if sinks else None
    scan = PythonScan(files_seen=len(files))
    results: dict[str, Extraction] = {}
    candidates, others = [], []  # files that may run SQL themselves; the rest
    names, name_cache, digests = HelperNames(), HelperNameCache(root, use_cache), {}
    prefix = root.as_posix() + "/"
    for path in files:
        # The walk gives absolute paths under the (resolved) root; anything else is resolved.
        text = path.as_posix() if isinstance(path, Path) else str(path)
        rel = text[len(prefix) :] if text.startswith(prefix) and ".." not in text else Path(path).resolve().relative_to(root).as_posix()
        try:
            if Path(path).stat().st_size > MAX_FILE_BYTES:
                scan.diagnostics.append(Diagnostic(rel, f"larger than {MAX_FILE_BYTES // 1_000_000} MB: not analysed", None, "too-large"))
                continue
            data = Path(path).read_bytes()
        except OSError as error:
            scan.diagnostics.append(Diagnostic(rel, f"could not be read: {error.strerror or error}", None, "read-error"))
            continue
        if MARKER in data:
            scan.suppressions.extend(find_suppressions(rel, data))
        if not is_test_file(rel):
            scan.declared.update(declared_dialects(data))
        runs_sql = may_hold_sql_call(data, sink_names)
        idioms = not runs_sql and (may_hold_orm_idiom(data) or may_define_insert_helper(data))
        if (runs_sql or idioms) and not idioms_in_tests and is_test_file(rel):
            scan.tests_without_idioms += 1
            idioms = False  # test code runs one writer at a time: its races are not the application's
        if runs_sql or idioms:
            candidates.append((rel, data))
            names |= name_cache.names(rel, digests.setdefault(rel, content_hash(data)), lambda: file_helper_names(data, EXCLUDED_HELPER_NAMES))
        else:
            others.append((rel, data))
    name_cache.save()
    extractor = Extractor(root, sinks, names, frozenset(rel for rel, _ in candidates), idioms_in_tests)
    # Sinks and the project's helper functions change what is extracted from a file.
    cache = ExtractionCache(root, enabled=use_cache, salt=repr((sinks, sorted(names.functions), sorted(names.methods), idioms_in_tests)))
    extract = partial(_extract_files, extractor, cache, scan, results, jobs, progress)
    # The trees and tables kept for following helpers hold no reference cycles, and the cyclic
    # collector's full passes over them cost more than the extraction itself on big projects.
    collecting = gc.isenabled()
    gc.disable()
    try:
        found = extract(candidates)
        # Helpers the parse found beyond the names the bytes gave (a function that passes its
        # parameters on to a helper): the files that call them are read again, knowing them.
        new = frozenset(found - names.functions)
        if new:
            extractor.learn(HelperNames(functions=new))
            wanted = frozenset(name.encode() for name in new)
            found |= extract([(rel, data) for rel, data in candidates if calls_one_of(data, wanted)])
        _extract_callers(extract, extractor, others, found)
        _extract_data_layer_callers(extractor, scan, results, jobs, progress, candidates + others, use_cache, cache.salt)
    finally:
        extractor.close()  # its trees go now, by reference counting, before anything else runs
        if collecting:
            gc.enable()
    for rel in sorted(results):  # deterministic order, whatever ran where
        scan.calls.extend(results[rel].calls)
        scan.idioms.extend(results[rel].idioms)
        scan.diagnostics.extend(results[rel].diagnostics)
    cache.save()
    return scan


def _extract_callers(extract, extractor: Extractor, others: list[tuple[str, bytes]], found: set[str]) -> None:
    """A file that runs no SQL itself but calls a helper of the project is read too (a helper
    its parse confirmed), and its own helpers may be called from further files."""
    for _ in range(MAX_LEVELS):
        wanted = frozenset(name.encode() for name in found)
        callers = [(rel, data) for rel, data in others if wanted and calls_one_of(data, wanted)]
        if not callers:
            return
        taken = {rel for rel, _ in callers}
        others = [item for item in others if item[0] not in taken]
        extractor.read_too(sorted(taken))
        extractor.learn(HelperNames().union(file_helper_names(data, EXCLUDED_HELPER_NAMES) for _, data in callers))
        extractor.learn(HelperNames(functions=frozenset(found)))
        found = extract(callers)


def _extract_data_layer_callers(extractor: Extractor, scan: PythonScan, results: dict[str, Extraction], jobs: int,
                                progress, files: list[tuple[str, bytes]], use_cache: bool, salt: str) -> None:
    """Files that call a function of the project that inserts (`create_account(...)` from
    `crud`) are read again knowing those functions: a lookup helper and an insert helper
    called one after the other are an idiom of the caller. A function that inserts through
    one (a service over the crud) inserts too: its callers are read in the next round. Only the
    functions calling such a function are read in a round; the idioms found are added to the
    first pass's, kept in a cache of their own (they depend on which functions insert)."""
    known: frozenset[str] = frozenset()
    readable = [(rel, data) for rel, data in files if extractor.idioms_in_tests or not is_test_file(rel)]
    imports = {rel: imported_words(data) for rel, data in readable}  # read once for every round
    for _ in range(MAX_LEVELS):
        summaries = {(module_name_for(Path(rel))[0], name): sql for rel, extraction in results.items() for name, sql in extraction.inserting}
        inserting = frozenset(name for _module, name in summaries)
        new = inserting - known
        known = inserting
        if not new:
            return
        # a caller imports the function, or the module (or package) that holds it
        through: dict[bytes, set[bytes]] = {}  # a word of an import line -> the new functions it may bring in
        for rel, extraction in results.items():
            parts = {part.encode() for part in PurePosixPath(rel).with_suffix("").parts[-2:]} - {b"__init__"}
            for name, _sql in extraction.inserting:
                if name in new:
                    for word in parts | {name.encode()}:
                        through.setdefault(word, set()).add(name.encode())
        callers = [(rel, data) for rel, data in readable
                   if (names := frozenset(n for word in imports[rel] & through.keys() for n in through[word])) and calls_one_of(data, names)]
        if not callers:
            return
        extractor.imported_inserting = summaries
        cache = ExtractionCache(extractor.root, enabled=use_cache, salt=salt + repr(sorted(summaries.items())))
        again: dict[str, Extraction] = {}
        counts = PythonScan()  # a file read in several rounds is counted once, as the first read counted it
        # in this process: few files a round, and this extractor keeps what it read of the
        # data layer from one round to the next (workers would start cold each round)
        _extract_files(extractor, cache, counts, again, 1, progress, callers)
        cache.save()
        first_read = sum(1 for rel, _ in callers if rel not in results)
        scan.files_parsed += min(first_read, counts.files_parsed)
        scan.files_cached += first_read - min(first_read, counts.files_parsed)
        for rel, extraction in again.items():
            first = results.get(rel)
            if first is None:
                results[rel] = extraction
                continue
            seen = {(idiom.location, idiom.guard_location) for idiom in first.idioms}
            idioms = first.idioms + tuple(idiom for idiom in extraction.idioms if (idiom.location, idiom.guard_location) not in seen)
            results[rel] = Extraction(first.calls, first.diagnostics, tuple(sorted(set(first.dependencies) | set(extraction.dependencies))),
                                      idioms, first.helpers, tuple(sorted(set(first.inserting) | set(extraction.inserting))))


def _extract_files(
    extractor: Extractor, cache: ExtractionCache, scan: PythonScan, results: dict[str, Extraction], jobs: int,
    progress: Callable[[int, int], None] | None, files: list[tuple[str, bytes]],
) -> set[str]:
    """Extract the files (from the cache where it is still right); the helpers they define."""
    pending: list[tuple[str, bytes]] = []
    digests: dict[str, str] = {}
    knowledge = extractor.knowledge()
    for rel, data in files:
        digests[rel] = content_hash(data)
        entry = cache.get(rel, digests[rel], knowledge)
        if entry is not None and all(extractor.index.module_hash(m) == h for m, h in entry.dependencies):
            results[rel] = Extraction(entry.calls, entry.diagnostics, entry.dependencies, entry.idioms, entry.helpers, entry.inserting)
            scan.files_cached += 1
        else:
            pending.append((rel, data))
    for done, (rel, extraction) in enumerate(_extract_all(extractor, pending, jobs), 1):
        results[rel] = extraction
        cache.put(rel, knowledge, Entry(digests[rel], extraction.calls, extraction.diagnostics, extraction.dependencies, extraction.idioms, extraction.helpers,
                             extraction.inserting))
        if progress is not None and (done % 50 == 0 or done == len(pending)):
            progress(done, len(pending))
    scan.files_parsed += len(pending)
    return {name for rel, _ in files for name in results[rel].helpers}


__all__ = ["PythonScan", "default_jobs", "python_files", "scan_python_files"]
