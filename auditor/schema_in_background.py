"""Reading the schema while the code is scanned.

On a big project the schema readers (a Django project replays every migration) cost about
as much as parsing the code, and the two are independent until the end: a forked process
reads the schema while this one scans. The dialect decides how DDL is read, and the audit
takes it from write sites not found yet, so the child starts with the dialect the files'
imports suggest; if the scan then says otherwise, its reading is dropped and the schema is
read again. Either way the catalog is the one reading after the scan gives, only sooner.
"""

from __future__ import annotations

import multiprocessing
from typing import Callable

from auditor.schema.sources import SchemaReading

MIN_FILES = 500  # Python files: below this, the schema is read in a moment anyway


def available() -> bool:
    """A child that shares this process's memory (no pickling of the work) needs fork."""
    return "fork" in multiprocessing.get_all_start_methods()


class SchemaInBackground:
    def __init__(self, read: Callable[[], SchemaReading]):
        context = multiprocessing.get_context("fork")
        self._receive, send = context.Pipe(duplex=False)
        self._process = context.Process(target=_read, args=(read, send), name="upsert-audit schema", daemon=True)
        self._process.start()
        send.close()

    def reading(self, dialect: str) -> SchemaReading | None:
        """The child's reading, if it made one in `dialect`; None: read the schema now."""
        try:
            result = self._receive.recv()
        except (EOFError, OSError):  # the child died: read here, where an error surfaces as it always did
            result = None
        finally:
            self._receive.close()
            self._process.join()
        return result if isinstance(result, SchemaReading) and result.dialect == dialect else None


def _read(read: Callable[[], SchemaReading], send) -> None:
    try:
        send.send(read())
    except BaseException:  # noqa: BLE001 - any failure: the parent reads the schema itself
        send.send(None)
    finally:
        send.close()
