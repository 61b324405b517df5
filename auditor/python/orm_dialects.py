"""The SQL an ORM upsert emits depends on the database it runs on; the readers write one
neutral form and this module turns it into the form of the site's dialect.

Django's `bulk_create(ignore_conflicts=True)` and peewee's `on_conflict_ignore()` emit
`INSERT OR IGNORE` on SQLite, `INSERT IGNORE` on MySQL/MariaDB and `ON CONFLICT DO
NOTHING` on PostgreSQL (verified, catalog C26/C36); their conflict updates are
`ON DUPLICATE KEY UPDATE c = VALUES(c)` on MySQL/MariaDB. The readers write `INSERT OR
IGNORE` and `ON CONFLICT ... DO UPDATE SET c = EXCLUDED.c`.
"""

from __future__ import annotations

import re

from auditor.dialects import MYSQL, POSTGRES

IGNORE = "INSERT OR IGNORE INTO "
_CONFLICT_UPDATE = re.compile(r" ON CONFLICT(?: \([^)]*\)(?: WHERE .*?)?| ON CONSTRAINT \S+)? DO UPDATE SET (?P<set>.*)$", re.S)
_CONFLICT_NOTHING = re.compile(r" ON CONFLICT(?: \([^)]*\)(?: WHERE .*?)?| ON CONSTRAINT \S+)? DO NOTHING$", re.S)
_EXCLUDED = re.compile(r"\bEXCLUDED\.(?P<column>\"[^\"]+\"|`[^`]+`|\w+)")


def for_dialect(sql: str, dialect: str) -> str:
    if dialect == POSTGRES and sql.startswith(IGNORE):
        return "INSERT INTO " + sql[len(IGNORE):] + " ON CONFLICT DO NOTHING"
    if dialect != MYSQL:
        return sql
    if sql.startswith(IGNORE):
        return "INSERT IGNORE INTO " + sql[len(IGNORE):]
    if _CONFLICT_NOTHING.search(sql):
        return "INSERT IGNORE INTO " + _CONFLICT_NOTHING.sub("", sql)[len("INSERT INTO "):]
    match = _CONFLICT_UPDATE.search(sql)
    if match:
        assignments = _EXCLUDED.sub(lambda m: f"VALUES({m['column']})", match["set"])
        return sql[: match.start()] + " ON DUPLICATE KEY UPDATE " + assignments
    return sql
