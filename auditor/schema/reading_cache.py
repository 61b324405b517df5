"""The schema reading, kept between runs while nothing it read has changed.

A Django project replays every migration on every run (saleor: about 1.3 s of a 1.8 s
pre-commit run), though a commit rarely touches the schema. The reading before the code's
own DDL is applied (`read_schema`) is kept in `.upsert-audit-cache/`, with every file it
read (auditor.schema.read_log) and its size and modification time, under a key of what
decides which files are read at all: the tool's version, the dialect, the Python files and
SQL files of the project (names only), and which of them may define a table. A run uses the
kept reading only when the key matches and every file it read is unchanged; anything else,
including a missing or unreadable cache file, reads the schema again.
"""

from __future__ import annotations

import hashlib
import pickle
import sys
from pathlib import Path

from auditor import __version__
from auditor.python.cache import CACHE_DIR, tool_fingerprint
from auditor.schema import read_log
from auditor.schema.sources import PythonSchemaFiles, SchemaReading, python_schema_files, read_schema

FORMAT = 1  # the file's layout; the readers' own code is in the key by its bytes (tool_fingerprint)


def reading_key(root: Path, python_files: list[Path], sql_files: list[Path], dialect: str, found: PythonSchemaFiles) -> str:
    def names(paths: list[Path]) -> list[str]:
        return [p.relative_to(root).as_posix() if p.is_relative_to(root) else str(p) for p in paths]

    what = (__version__, FORMAT, tool_fingerprint(), sys.version_info[:2], dialect, sorted(names(python_files)), names(sql_files),
            names(found.framework), names(found.ddl))
    return hashlib.blake2b(repr(what).encode(), digest_size=16).hexdigest()


def cache_file(root: Path, dialect: str) -> Path:
    return root / CACHE_DIR / f"{__version__}-{FORMAT}-schema-{dialect}.pickle"


def _load(path: Path, key: str) -> SchemaReading | None:
    try:
        with open(path, "rb") as handle:
            kept_key, record, reading = pickle.load(handle)
    except Exception:  # noqa: BLE001 - missing, unreadable or from another build: read again
        return None
    if kept_key != key or not isinstance(reading, SchemaReading) or not read_log.unchanged(record):
        return None
    return reading


def _save(path: Path, key: str, record: dict, reading: SchemaReading) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{id(reading)}.tmp")
        with open(temporary, "wb") as handle:
            pickle.dump((key, record, reading), handle, protocol=pickle.HIGHEST_PROTOCOL)
        temporary.replace(path)
    except (OSError, pickle.PicklingError, RecursionError):
        pass  # a cache that cannot be written only costs the next run its time


def read_schema_kept(root: Path, python_files: list[Path], sql_files: list[Path], dialect: str,
                     found: PythonSchemaFiles | None = None, enabled: bool = True) -> SchemaReading:
    """read_schema, or the reading kept from an earlier run when nothing it read has changed.
    Each call returns its own copy: finish_catalog completes a reading in place."""
    found = found or python_schema_files(python_files)
    if not enabled:
        return read_schema(root, python_files, sql_files, dialect, found)
    key = reading_key(root, python_files, sql_files, dialect, found)
    path = cache_file(root, dialect)
    kept = _load(path, key)
    if kept is not None:
        return kept
    with read_log.recording() as record:
        reading = read_schema(root, python_files, sql_files, dialect, found)
    _save(path, key, record, reading)
    return reading
