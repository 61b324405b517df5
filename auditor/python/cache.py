"""A content-hash cache of per-file extraction results, for warm re-runs.

Key: the file's bytes (BLAKE2b). An entry also records every project module that
constant folding consulted for that file (and that module's hash, or its absence),
so editing `queries.py` re-scans the files that import SQL from it. Only the
extraction is cached: the schema is always read and the rules always run, so a
schema or configuration change needs no invalidation. The cache lives in
`<root>/.upsert-audit-cache/<tool version>/`, like Ruff's; a corrupt or
unwritable cache is ignored, never an error.
"""

from __future__ import annotations

import hashlib
import pickle
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import auditor
from auditor import __version__
from auditor.model import Diagnostic
from auditor.sites import IdiomCall, SqlCall

CACHE_DIR = ".upsert-audit-cache"


def content_hash(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


# Bump whenever extraction starts finding something new (SQLAlchemy upserts: 2, Django
# bulk_create: 3, peewee: 4, multi-statement idioms: 7, exec_driver_sql lines: 8), so a cache written by an older build of the same version is never reused.
EXTRACTION_FORMAT = 25  # 24: an entry per pass (what the extractor knew); 25: testing/ holds test code
PASSES_KEPT = 4  # entries kept per file: its passes in this run's order, and a few older ones


@dataclass(frozen=True)
class Entry:
    hash: str
    calls: tuple[SqlCall, ...]
    diagnostics: tuple[Diagnostic, ...]
    dependencies: tuple[tuple[str, str | None], ...]  # (dotted module, its content hash or None if absent)
    idioms: tuple[IdiomCall, ...] = ()
    helpers: tuple[str, ...] = ()  # module-level functions of the file that are the project's SQL helpers
    inserting: tuple[tuple[str, str], ...] = ()  # module-level functions of the file that insert, with their INSERT


@lru_cache(maxsize=1)
def tool_fingerprint() -> str:
    """The bytes of this tool's own modules: results cached by other code of the same version
    (a checkout between two commits) are never used."""
    digest = hashlib.blake2b(digest_size=16)
    for path in sorted(Path(auditor.__file__).parent.rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()


class HelperNameCache:
    """Which functions of each file may be the project's SQL helpers, by the file's content:
    read from the bytes on every run otherwise, before the extraction cache can be chosen
    (its folder depends on these names)."""

    def __init__(self, root: Path, enabled: bool = True):
        self.path = root / CACHE_DIR / f"{__version__}-{EXTRACTION_FORMAT}-{tool_fingerprint()[:12]}-helper-names.pickle"
        self.enabled, self.dirty = enabled, False
        self.entries: dict[str, tuple[str, object]] = {}
        if enabled:
            try:
                with open(self.path, "rb") as handle:
                    loaded = pickle.load(handle)
                self.entries = loaded if isinstance(loaded, dict) else {}
            except Exception:  # noqa: BLE001 - missing or corrupt: start empty
                self.entries = {}

    def names(self, path: str, digest: str, compute):
        """The file's names, from the cache when its content is the same, else `compute()`."""
        cached = self.entries.get(path)
        if cached is not None and cached[0] == digest:
            return cached[1]
        value = compute()
        if self.enabled:
            self.entries[path] = (digest, value)
            self.dirty = True
        return value

    def save(self) -> None:
        if not (self.enabled and self.dirty):
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            with open(tmp, "wb") as handle:
                pickle.dump(self.entries, handle, protocol=pickle.HIGHEST_PROTOCOL)
            tmp.replace(self.path)
        except OSError:
            pass


class ExtractionCache:
    def __init__(self, root: Path, enabled: bool = True, salt: str = ""):
        self.salt = salt
        # Results depend on the tool and on extraction settings (sinks): each gets its own folder.
        self.folder = root / CACHE_DIR / f"{__version__}-{EXTRACTION_FORMAT}-{hashlib.blake2b((tool_fingerprint() + salt).encode(), digest_size=6).hexdigest()}"
        self.enabled = enabled
        # path -> what the extractor knew (Extractor.knowledge) -> entry: a file read again in a
        # later pass, knowing more helpers, has an entry of its own for that pass.
        self.entries: dict[str, dict[str, Entry]] = {}
        self.dirty = False
        if enabled:
            try:
                with open(self.folder / "extraction.pickle", "rb") as handle:
                    loaded = pickle.load(handle)
                if isinstance(loaded, dict):
                    self.entries = loaded
            except Exception:  # noqa: BLE001 - missing or corrupt: start empty
                self.entries = {}

    def get(self, path: str, digest: str, knowledge: str) -> Entry | None:
        entry = self.entries.get(path, {}).get(knowledge) if self.enabled else None
        return entry if entry is not None and entry.hash == digest else None

    def put(self, path: str, knowledge: str, entry: Entry) -> None:
        if self.enabled:
            passes = self.entries.setdefault(path, {})
            passes.pop(knowledge, None)
            passes[knowledge] = entry  # the newest last
            while len(passes) > PASSES_KEPT:
                del passes[next(iter(passes))]
            self.dirty = True

    def save(self) -> None:
        if not (self.enabled and self.dirty):
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            (self.folder.parent / ".gitignore").write_text("# created by upsert-audit\n*\n")
            tmp = self.folder / "extraction.pickle.tmp"
            with open(tmp, "wb") as handle:
                pickle.dump(self.entries, handle, protocol=pickle.HIGHEST_PROTOCOL)
            tmp.replace(self.folder / "extraction.pickle")
        except OSError:
            pass  # a read-only checkout still gets its audit
