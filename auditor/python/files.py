"""Finding the project's Python files, reading them, and the byte pre-filter.

The pre-filter is the first speed lever (../shared/design.md, "Performance facts"):
a bytes regex over a file costs about a tenth of parsing it, and most files of a
big project hand no SQL to any execute-like call.
"""

from __future__ import annotations

import re
import tokenize
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from auditor.walk import Exclusion, walk_files

# Substring search runs at memory speed; a regex without a literal prefix does not. So the
# call names are found with `bytes.find`, and only around each hit is the syntax checked:
# the whole identifier, a `.` before it for the method-only names, and `(` after it, so that
# `prefetch_related`, `executor` or `fetchall()` alone do not cost a parse.
CALL_NEEDLES = (b"execute", b"fetch", b"mogrify", b"bulk_create", b"upsert_record", b"exec_driver_sql")  # in every call name below
METHOD_CALLS = {b"execute", b"executemany", b"executescript", b"fetch", b"fetchrow", b"fetchval", b"mogrify", b"exec_driver_sql", b"bulk_create",
                b"fetch_one", b"fetch_all", b"fetch_val", b"execute_many"}
CALLS = {b"execute", b"execute_values", b"execute_batch", b"upsert_record", b"aupsert_record"}  # also bare
_WORD = re.compile(rb"\w*")
_OPEN_PAREN = re.compile(rb"\s*\(")
# ORM idioms (get_or_create, session.merge/add, Model.objects.create) need no execute call:
# plain substring tests (`self.create(` is a custom manager's insert).
ORM_NEEDLES = (b"_or_create(", b"session.add(", b"session.merge(", b".objects.create(", b".objects.acreate(", b"self.create(", b"self.acreate(")


def _identifier_start(data: bytes, index: int) -> int:
    while index > 0 and (data[index - 1 : index].isalnum() or data[index - 1] == 95):  # 95: "_"
        index -= 1
    return index


def _calls_at(data: bytes, needle: bytes) -> bool:
    """Is some occurrence of `needle` inside a call of an execute-like name?"""
    index = data.find(needle)
    while index != -1:
        start = _identifier_start(data, index)
        end = _WORD.match(data, index).end()
        name = data[start:end]
        if (name in CALLS or (name in METHOD_CALLS and data[start - 1 : start] == b".")) and _OPEN_PAREN.match(data, end):
            return True
        index = data.find(needle, end)
    return False


def may_hold_execute_call(data: bytes, sink_names: re.Pattern[bytes] | None = None) -> bool:
    """The byte pre-filter: can this file contain an execute-like (or sink) call at all?"""
    if sink_names is not None and sink_names.search(data):
        return True
    if any(_calls_at(data, needle) for needle in CALL_NEEDLES if needle in data):
        return True
    if any(needle in data for needle in ORM_NEEDLES):
        return True
    # Django: obj = Model(...); obj.save() after a lookup through a manager (check-then-insert)
    return b".save()" in data and b".objects." in data


def python_files(root: Path, excluded: Exclusion | None = None) -> list[Path]:
    """Every .py file under root, skipping virtualenvs, VCS and build folders; sorted."""
    return walk_files(Path(root), (".py",), excluded)[".py"]


@dataclass(frozen=True)
class Source:
    text: str | None
    error: str | None = None  # why the text could not be had


def decode_source(data: bytes) -> Source:
    """Decode like Python does (PEP 263 coding line, UTF-8 default); never raise."""
    if b"\x00" in data:
        return Source(None, "contains NUL bytes (binary file?)")
    try:
        encoding, _ = tokenize.detect_encoding(BytesIO(data).readline)
        return Source(data.decode(encoding))
    except (SyntaxError, UnicodeDecodeError, LookupError) as error:
        return Source(None, f"cannot be decoded: {error}")
