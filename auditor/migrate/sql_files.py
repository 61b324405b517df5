"""Where a generated SQL migration goes, and under which name: the project's own convention.

The folder is the one holding most of the project's .sql migrations; the name continues
its numbering (`011_` after `010_`, `V4__` after `V3__`, a UTC timestamp after
timestamps). Files are written atomically (a temporary file, then a rename) and an
existing file is never overwritten: a key whose migration is already there is skipped.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from auditor.schema.discover import version_key


@dataclass(frozen=True)
class SqlFolder:
    path: Path
    names: tuple[str, ...]  # existing .sql file names

    def next_name(self, slug: str) -> str:
        versioned = [n for n in self.names if version_key(n)[0] == 0]
        if not versioned:
            return f"001_{slug}.sql"
        last = max(versioned, key=version_key)
        if last[:1] in "Vv":
            major = version_key(last)[1][0]
            return f"V{major + 1}__{slug}.sql"
        digits = re.match(r"\d+", last).group(0)
        if len(digits) >= 12:  # a timestamp
            return f"{datetime.now(timezone.utc):%Y%m%d%H%M%S}_{slug}.sql"
        return f"{int(digits) + 1:0{len(digits)}d}_{slug}.sql"

    def existing(self, slug: str) -> str | None:
        return next((n for n in self.names if n.endswith(f"_{slug}.sql")), None)

    def with_file(self, name: str) -> "SqlFolder":
        """The folder once `name` is in it (written, or planned in a dry run)."""
        return SqlFolder(self.path, tuple(sorted((*self.names, name))))


def existing_migration(folder: Path, slug: str, suffix: str) -> Path | None:
    """A migration already generated for this key (any number or revision in front)."""
    return next(iter(sorted(folder.glob(f"*_{slug}{suffix}"))), None)


def remove_stale_temporaries(folder: Path) -> None:
    """A run killed mid-write leaves only a hidden temporary file (never a half migration)."""
    for stale in folder.glob(".*.upsert-audit-tmp") if folder.is_dir() else ():
        stale.unlink(missing_ok=True)


def migrations_folder(root: Path, schema_files: list[str], output: Path | None) -> SqlFolder:
    if output is not None:
        folder = output
    else:  # generate() asks for -o when the project has no SQL migrations folder
        folder = root / Counter(str(Path(f).parent) for f in schema_files if f.endswith(".sql")).most_common(1)[0][0]
    names = tuple(sorted(p.name for p in folder.glob("*.sql"))) if folder.is_dir() else ()
    return SqlFolder(folder, names)


def write_new_file(path: Path, text: str) -> None:
    """Create `path` with `text` in one step; refuse to replace anything."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.upsert-audit-tmp")
    temporary.write_text(text, encoding="utf-8")
    try:
        os.link(temporary, path)  # fails if path exists: never overwrite
    finally:
        temporary.unlink()
