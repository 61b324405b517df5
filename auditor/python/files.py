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
from typing import Callable

from auditor.schema.discover import SKIPPED_DIRS

# Every execute-like name contains one of these (executemany, execute_values, fetchrow, ...).
PREFILTER = re.compile(rb"execute|fetch|mogrify|exec_driver_sql")


def python_files(root: Path, exclude: Callable[[Path], bool] | None = None) -> list[Path]:
    """Every .py file under root, skipping virtualenvs, VCS and build folders; sorted."""
    found: list[Path] = []
    stack = [Path(root)]
    while stack:
        folder = stack.pop()
        try:
            entries = list(folder.iterdir())
        except OSError:
            continue
        for entry in entries:
            if exclude and exclude(entry):
                continue
            if entry.is_dir():
                if entry.name not in SKIPPED_DIRS and not entry.is_symlink():
                    stack.append(entry)
            elif entry.suffix == ".py" and entry.is_file():
                found.append(entry)
    return sorted(found)


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
