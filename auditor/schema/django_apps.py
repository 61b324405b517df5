"""A Django app's label: `AppConfig.label` in the app's `apps.py` (or its `__init__.py`), else
the folder's name.

Django names an app's tables `<label>_<model>` and its migrations `(label, name)` in
every `dependencies` list and `to="label.Model"` reference. Reusable apps often set a
label that is not their folder's name (wagtail's `wagtail/images` is `wagtailimages`);
read by folder name, their migration graph falls apart and their tables are misnamed.

Which config Django uses (3.2+): the one subclass of AppConfig with `default = True`,
else the only subclass not marked `default = False`; else the plain AppConfig, whose
label is the folder's name.
"""

from __future__ import annotations

import ast
from pathlib import Path

from auditor.python.syntax import parse_module as parse_python
from auditor.schema import read_log

APPS_MODULE = "apps.py"
# Where an app's config may live: apps.py, or the package's __init__.py (pulp plugins'
# `pulp_file/app/__init__.py` declares `label = "file"`; older apps pair it with
# `default_app_config`).
CONFIG_MODULES = (APPS_MODULE, "__init__.py")


def _class_constants(node: ast.ClassDef) -> dict[str, object]:
    return {
        s.targets[0].id: s.value.value
        for s in node.body
        if isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name) and isinstance(s.value, ast.Constant)
    }


def _is_app_config(node: ast.ClassDef) -> bool:
    return any((b.id if isinstance(b, ast.Name) else b.attr if isinstance(b, ast.Attribute) else "").endswith("AppConfig") for b in node.bases)


def declared_label(source: str) -> str | None:
    """The label the app config Django would pick from this `apps.py` sets, if any."""
    try:
        tree = parse_python(source)
    except (SyntaxError, ValueError):
        return None
    configs = [_class_constants(n) for n in tree.body if isinstance(n, ast.ClassDef) and _is_app_config(n)]
    defaults = [c for c in configs if c.get("default") is True]
    candidates = [c for c in configs if c.get("default") is not False]
    chosen = defaults[0] if len(defaults) == 1 else candidates[0] if len(candidates) == 1 else None
    label = chosen.get("label") if chosen else None
    return label if isinstance(label, str) and label.isidentifier() else None


class AppLabels:
    """Labels of app folders, each `apps.py` read once."""

    def __init__(self) -> None:
        self._labels: dict[Path, str] = {}

    def label(self, folder: Path) -> str:
        if folder not in self._labels:
            declared = None
            for module in CONFIG_MODULES:  # apps.py, else a config kept in the package itself
                try:
                    declared = declared_label(read_log.read_bytes(folder / module).decode("utf-8"))
                except (OSError, UnicodeDecodeError):
                    continue
                if declared:
                    break
            self._labels[folder] = declared or folder.name
        return self._labels[folder]
