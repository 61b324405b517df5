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

from auditor.walk import Exclusion, walk_files

_VERSION = re.compile(r"^[Vv]?(\d+(?:[._]\d+)*)(?=__|_|-|\.|$)")


def version_key(name: str) -> tuple:
    """Sort key of a file name: (0, version parts..., name) if versioned, else (1, name)."""
    match = _VERSION.match(name)
    if not match:
        return (1, (), name)
    parts = tuple(int(p) for p in re.split(r"[._]", match.group(1)))
    return (0, parts, name)


def migration_order(root: Path, files: list[Path]) -> list[Path]:
    return sorted(files, key=lambda p: (p.parent.relative_to(root).parts, version_key(p.name)))


def discover_schema_files(root: Path, excluded: Exclusion | None = None) -> list[Path]:
    """Every .sql file under `root` (or `root` itself if it is a file), in migration order."""
    root = Path(root)
    if root.is_file():
        return [root]
    return migration_order(root, walk_files(root, (".sql",), excluded)[".sql"])
