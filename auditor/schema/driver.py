"""Database drivers are optional: only the live features need one, and its absence is a clear error.

Every import of a driver goes through import_driver (the live schema readers and `verify`'s
probes), so a missing one always says which extra of ours installs it. The extras are
[project.optional-dependencies] in pyproject.toml.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType
from urllib.parse import urlparse

from auditor.dialects import MYSQL, POSTGRES
from auditor.schema.live import LiveSchemaError


@dataclass(frozen=True)
class Driver:
    module: str  # what we import
    package: str  # what pip installs
    database: str  # what the user is reading
    extra: str  # the extra of ours that installs it


DRIVERS = {
    POSTGRES: Driver("psycopg", "psycopg", "PostgreSQL", "postgres"),
    MYSQL: Driver("pymysql", "PyMySQL", "MySQL/MariaDB", "mysql"),
}


class MissingDriver(LiveSchemaError):
    """A LiveSchemaError, so the CLI prints it and exits 2 like any other failure to read the database."""


def import_driver(dialect: str, url: str = "") -> ModuleType:
    """The driver module for `dialect`; `url` (postgresql://..., mysql://...) only names what was being read."""
    driver = DRIVERS[dialect]
    try:
        return importlib.import_module(driver.module)
    except ImportError as error:
        raise MissingDriver(missing_driver_message(driver, url, error)) from None


def missing_driver_message(driver: Driver, url: str, error: ImportError) -> str:
    # Only the scheme: the rest of a URL may hold a password.
    scheme = urlparse(url).scheme
    reading = f"reading {scheme}://…" if scheme else f"reading a {driver.database} database"
    install = f"pip install 'upsert-audit[{driver.extra}]'"
    if isinstance(error, ModuleNotFoundError) and error.name == driver.module:
        return f"{reading} needs the {driver.database} driver ({driver.package}): {install}"
    # Installed but broken (psycopg without a libpq, a dependency missing): its own reason.
    reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return f"{reading} needs the {driver.database} driver ({driver.package}), which is installed but cannot be imported ({reason}): {install} installs a working one"
