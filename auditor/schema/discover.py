"""Find schema and migration .sql files and put them in migration order.

Order: by folder, then by the file's version prefix compared as numbers, then
by name. A version prefix is the leading run of digits, optionally after a
Flyway `V` and with `.` or `_` separated parts (`001_init`, `10_users`,
`V1.2__add_index`, `V2_1__x`, `20240101120000_create`). Files without a version
prefix come after the versioned files of their folder, by name (a plain
`schema.sql` next to numbered migrations is rare; alone it is simply read).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable

SKIPPED_DIRS = {".git", ".hg", ".venv", "venv", "env", "node_modules", "__pycache__", "site-packages", "build", "dist", ".tox", ".mypy_cache", ".pytest_cache"}

_VERSION = re.compile(r"^[Vv]?(\d+(?:[._]\d+)*)(?=__|_|-|\.|$)")


def version_key(name: str) -> tuple:
    """Sort key of a file name: (0, version parts..., name) if versioned, else (1, name)."""
    match = _VERSION.match(name)
    if not match:
        return (1, (), name)
    parts = tuple(int(p) for p in re.split(r"[._]", match.group(1)))
    return (0, parts, name)


def _walk(folder: Path, exclude: Callable[[Path], bool] | None) -> list[Path]:
    found: list[Path] = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return found
    for entry in entries:
        if exclude and exclude(entry):
            continue
        if entry.is_dir() and not entry.is_symlink():
            if entry.name not in SKIPPED_DIRS:
                found.extend(_walk(entry, exclude))
        elif entry.suffix.lower() == ".sql" and entry.is_file():
            found.append(entry)
    return found


def discover_schema_files(root: Path, exclude: Callable[[Path], bool] | None = None) -> list[Path]:
    """Every .sql file under `root` (or `root` itself if it is a file), in migration order."""
    root = Path(root)
    if root.is_file():
        return [root]
    files = _walk(root, exclude)
    return sorted(files, key=lambda p: (p.parent.relative_to(root).parts, version_key(p.name)))
