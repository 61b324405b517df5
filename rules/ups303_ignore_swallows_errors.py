"""UPS303: INSERT IGNORE / INSERT OR IGNORE hide far more than duplicate keys."""

from auditor.evidence import sql_table_name, table_keys_evidence
from auditor.findings import FixSafety
from auditor.model import Severity
from auditor.rulebook import Invalid, Rule, Valid, Violation
from auditor.sql.holes import TABLE

SCHEMA = "CREATE TABLE items (k int PRIMARY KEY, v varchar(10) NOT NULL);"
STRICT = "INSERT INTO items (k, v) VALUES (1, NULL)"


class IgnoreSwallowsErrors(Rule):
    id = "UPS303"
    name = "ignore-swallows-errors"
    severity = Severity.WARNING
    fix_safety = FixSafety.UNSAFE
    dialects = ("sqlite", "mysql")
    needs = frozenset({TABLE})
    claim = "swallows"
    fails_at_planning = False

    what = """
Checks for MySQL/MariaDB `INSERT IGNORE`, SQLite `INSERT OR IGNORE`, and the ORM calls that
emit them (Django `bulk_create(ignore_conflicts=True)` and peewee `on_conflict_ignore()` on
those databases, SQLAlchemy `prefix_with("IGNORE")`).
"""
    why = """
`IGNORE` is not "skip duplicates": it turns every error of the statement into a warning or a
silent skip. SQLite skips rows that violate NOT NULL or CHECK; MariaDB stores `''` for a NULL
in a NOT NULL column, truncates an over-long string, stores 0 for `'abc'` in an INT and drops
rows that break a foreign key, all in strict mode and without an error. Bad data goes in, or
disappears, where the code meant only to tolerate an existing key.
"""
    example = """
```sql
INSERT IGNORE INTO items (k, v) VALUES (%s, %s);  -- a NULL v is stored as ''
```
"""
    use_instead = """
Skip only duplicates of the key, so every other error still raises:

```sql
INSERT INTO items (k, v) VALUES (?, ?) ON CONFLICT (k) DO NOTHING;   -- SQLite 3.24+
INSERT INTO items (k, v) VALUES (%s, %s) ON DUPLICATE KEY UPDATE k = k; -- MySQL / MariaDB
```
"""

    examples = (
        Invalid(SCHEMA, "INSERT OR IGNORE INTO items (k, v) VALUES (1, NULL)", strict_sql=STRICT, dialects=("sqlite",),
                sqlite_error="NOT NULL constraint failed", note="the row is silently dropped"),
        Invalid(SCHEMA, "INSERT IGNORE INTO items (k, v) VALUES (1, NULL)", strict_sql=STRICT, dialects=("mysql",),
                mysql_error=1048, note="strict mode, yet '' is stored"),
        Valid(SCHEMA, "INSERT INTO items (k, v) VALUES (1, 'x') ON CONFLICT (k) DO NOTHING", setup="INSERT INTO items VALUES (1, 'x')",
              dialects=("sqlite",)),
        Valid(SCHEMA, "INSERT INTO items (k, v) VALUES (1, 'x') ON DUPLICATE KEY UPDATE k = k", setup="INSERT INTO items VALUES (1, 'x')",
              dialects=("mysql",)),
    )

    def check(self, site, table):
        if site.statement.or_action != "IGNORE":
            return
        name = sql_table_name(table, site.dialect)
        keyword = "INSERT IGNORE" if site.dialect == "mysql" else "INSERT OR IGNORE"
        if site.dialect == "mysql":
            instead = "INSERT ... ON DUPLICATE KEY UPDATE <key column> = <key column>"
        else:
            instead = "INSERT ... ON CONFLICT (<key>) DO NOTHING"
        yield Violation(
            message=(
                f"{keyword} into {name} hides every error of the statement, not only duplicate keys: NOT NULL, CHECK, "
                f"foreign key and type or length violations are skipped or stored as coerced values without an error"
            ),
            fix=f"Skip only duplicates of the key: {instead}.",
            evidence=table_keys_evidence(table),
        )
