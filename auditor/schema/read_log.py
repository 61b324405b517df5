"""The files a schema reading read, each with its size and modification time.

A cached reading (auditor.schema.reading_cache) is used only while every file the reading
read is as it was, so every schema reader reads files through `read_bytes` / `note` here.
Outside a recording these cost nothing more than the read itself.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Iterator

Stamp = tuple[int, int] | None  # (size, mtime_ns); None: the file was not there
_RECORD: ContextVar[dict[str, Stamp] | None] = ContextVar("upsert_audit_schema_reads", default=None)


def stamp(path: Path | str) -> Stamp:
    try:
        status = os.stat(path)
    except OSError:
        return None
    return status.st_size, status.st_mtime_ns


def note(path: Path | str) -> None:
    """Record that the reading depends on this file (stamped before it is read: a change
    while it is read makes the next run's stamp differ, never the other way round)."""
    record = _RECORD.get()
    if record is not None and str(path) not in record:
        record[str(path)] = stamp(path)


def read_bytes(path: Path) -> bytes:
    note(path)
    return path.read_bytes()


@contextmanager
def recording() -> Iterator[dict[str, Stamp]]:
    """Collect the files read inside the block (in this thread or task)."""
    record: dict[str, Stamp] = {}
    token = _RECORD.set(record)
    try:
        yield record
    finally:
        _RECORD.reset(token)


def unchanged(record: dict[str, Stamp]) -> bool:
    return all(stamp(path) == recorded for path, recorded in record.items())
