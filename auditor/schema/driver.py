"""Database drivers are optional: only the live features need one, and its absence is a clear error."""

from __future__ import annotations

import importlib
from types import ModuleType

# module -> the extra of ours that installs it
EXTRAS = {"psycopg": "postgres", "pymysql": "mysql"}


class MissingDriver(Exception):
    pass


def import_driver(module: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError:
        extra = EXTRAS.get(module, module)
        raise MissingDriver(
            f"reading a live database needs the {module} driver: pip install 'upsert-audit[{extra}]'"
        ) from None
