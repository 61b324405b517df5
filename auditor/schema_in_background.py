"""Reading the schema while the code is scanned.

On a whole-project run the code is parsed in worker processes and the main process would
only wait for them; it reads the schema files meanwhile, in a thread. The dialect decides
how DDL is read, and the audit takes it from the write sites it has not found yet, so the
thread starts with the dialect the candidate files' imports suggest; if the scan then says
otherwise, the reading is dropped and done again after it. Either way the catalog is the
one reading after the scan gives, only sooner.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Callable

from auditor.schema.sources import PythonSchemaFiles, SchemaReading, read_schema

Candidates = list[tuple[str, bytes]]  # (relative path, bytes) of the files the scan will parse


class SchemaInBackground:
    def __init__(self, root: Path, python_files: list[Path], sql_files: list[Path], found: PythonSchemaFiles, dialect_of: Callable[[Candidates], str]):
        self._arguments = (root, python_files, sql_files)
        self._found, self._dialect_of = found, dialect_of
        self._thread: threading.Thread | None = None
        self._reading: SchemaReading | None = None
        self._failed = False

    def start(self, candidates: Candidates) -> None:
        """The scan's signal that it hands the parsing to worker processes (once is enough)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._read, args=(candidates,), name="schema", daemon=True)
            self._thread.start()

    def _read(self, candidates: Candidates) -> None:
        try:
            self._reading = read_schema(*self._arguments, self._dialect_of(candidates), self._found)
        except BaseException:  # noqa: BLE001 - read again after the scan, where an error surfaces as it always did
            self._failed = True

    def reading(self, dialect: str) -> SchemaReading | None:
        """The reading, if one was made in `dialect`; None: read the schema now."""
        if self._thread is None:
            return None
        self._thread.join()
        if self._failed or self._reading is None or self._reading.dialect != dialect:
            return None
        return self._reading
