"""One walk over the project tree that collects every file the audit reads.

os.scandir keeps the type of each entry from the directory listing, so the walk
costs one listing per folder and no extra stat per file; Python and SQL files are
collected together so big trees are walked once.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

# Never part of the project's own code or schema.
SKIPPED_DIRS = frozenset({
    ".git", ".hg", ".svn", ".venv", "venv", "env", "node_modules", "__pycache__", "site-packages",
    "build", "dist", ".tox", ".nox", ".mypy_cache", ".pytest_cache", ".upsert-audit-cache",
})

# excluded(relative POSIX path, is_dir) -> bool
Exclusion = Callable[[str, bool], bool]


def walk_files(root: Path, suffixes: tuple[str, ...], excluded: Exclusion | None = None) -> dict[str, list[Path]]:
    """Files under root by suffix (lower case, e.g. ".py"), each list sorted by path."""
    found: dict[str, list[Path]] = {s: [] for s in suffixes}
    stack = [(str(root), "")]
    while stack:
        folder, prefix = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue  # unreadable folder: nothing of it can be audited
        for entry in entries:
            relative = prefix + entry.name
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                continue
            if excluded is not None and excluded(relative, is_dir):
                continue
            if is_dir:
                if entry.name not in SKIPPED_DIRS:
                    stack.append((entry.path, relative + "/"))
                continue
            suffix = os.path.splitext(entry.name)[1].lower()
            if suffix in found and entry.is_file():
                found[suffix].append(Path(entry.path))
    for files in found.values():
        files.sort()
    return found
