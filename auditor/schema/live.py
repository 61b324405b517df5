"""The live database as the schema source (`database-url`).

When configured, the keys the running database really has are the catalog,
instead of what the SQL files say: PostgreSQL (`postgresql://...`), MySQL and
MariaDB (`mysql://...`, `mariadb://...`) and SQLite (`sqlite:///relative/or/absolute/path.db`).
Errors never repeat the URL: it may hold a password.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from auditor.dialects import MYSQL, POSTGRES, SQLITE
from auditor.model import Catalog


class LiveSchemaError(Exception):
    pass


def url_dialect(url: str) -> str:
    scheme = urlparse(url).scheme.split("+")[0].lower()
    if scheme in ("postgres", "postgresql"):
        return POSTGRES
    if scheme == "sqlite":
        return SQLITE
    if scheme in ("mysql", "mariadb"):
        return MYSQL
    raise LiveSchemaError(f"database-url: unknown scheme {scheme!r}; use postgresql://..., mysql://... or sqlite:///path")


def sqlite_path(url: str, root: Path) -> Path:
    """sqlite:///relative.db is relative to the project root; sqlite:////abs.db is absolute."""
    path = url.split(":///", 1)[1] if ":///" in url else ""
    if not path:
        raise LiveSchemaError("database-url: a SQLite URL needs a path, like sqlite:///app.db")
    resolved = Path(path) if path.startswith("/") else root / path
    if not resolved.is_file():
        raise LiveSchemaError(f"database-url: SQLite database {resolved} does not exist")
    return resolved


def live_catalog(url: str, root: Path) -> Catalog:
    from auditor.schema import introspect_postgres, introspect_sqlite

    dialect = url_dialect(url)
    try:
        if dialect == SQLITE:
            return introspect_sqlite(str(sqlite_path(url, root)))
        if dialect == MYSQL:
            from auditor.schema.live_mysql import introspect_mysql

            return introspect_mysql(url)
        return introspect_postgres(url)
    except LiveSchemaError:
        raise
    except Exception as error:  # the driver's own error says what went wrong (host, auth, database)
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise LiveSchemaError(f"database-url: could not read the schema: {first_line}") from None
