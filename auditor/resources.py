"""Where the rule files and templates are, installed or in a checkout.

In a built wheel they ship as `auditor/_rules` and `auditor/_templates` (see
pyproject.toml); in a source checkout or editable install they are the
top-level `rules/` and `templates/` folders beside the package.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _first_existing(*candidates: Path) -> Path:
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"none of these folders exists: {', '.join(map(str, candidates))}")


def rules_dir() -> Path:
    return _first_existing(_PACKAGE / "_rules", _PACKAGE.parent / "rules")


def templates_dir() -> Path:
    return _first_existing(_PACKAGE / "_templates", _PACKAGE.parent / "templates")
