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

# Two stages: a fast scan for the names, then only on a hit the call syntax, so that
# `prefetch_related`, `executor` or `fetchall()` alone do not cost a parse.
_NAMES = re.compile(rb"execute|fetch|mogrify|bulk_create|upsert_record")
_CALLS = re.compile(
    rb"\.(?:execute|executemany|executescript|fetch|fetchrow|fetchval|mogrify|exec_driver_sql|bulk_create)\s*\("
    rb"|\b(?:execute|execute_values|execute_batch|a?upsert_record)\s*\("
)
# ORM idioms (get_or_create, session.merge/add, Model.objects.create) need no execute call:
# plain substring tests, far cheaper than widening the regexes above.
ORM_NEEDLES = (b"_or_create(", b"session.add(", b"session.merge(", b".objects.create(", b".objects.acreate(")


def may_hold_execute_call(data: bytes, sink_names: re.Pattern[bytes] | None = None) -> bool:
    """The byte pre-filter: can this file contain an execute-like (or sink) call at all?"""
    if sink_names is not None and sink_names.search(data):
        return True
    if _NAMES.search(data) is not None and _CALLS.search(data) is not None:
        return True
    return any(needle in data for needle in ORM_NEEDLES)


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
