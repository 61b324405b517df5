"""UPS303: INSERT IGNORE / INSERT OR IGNORE hide far more than duplicate keys."""

from auditor.evidence import sql_table_name, table_keys_evidence
from auditor.findings import FixSafety
from auditor.model import KeyKind, Severity
from auditor.rulebook import Invalid, Rule, Valid, Violation
import re

from auditor.sql.holes import COLUMNS, TABLE, VALUES

SCHEMA = "CREATE TABLE items (k int PRIMARY KEY, v varchar(10) NOT NULL);"
STRICT = "INSERT INTO items (k, v) VALUES (1, NULL)"


NOT_NULL = {"sqlite_code": "SQLITE_CONSTRAINT_NOTNULL", "sqlite_error": "NOT NULL constraint failed: items.v"}

class IgnoreSwallowsErrors(Rule):
    id = "UPS303"
    name = "ignore-swallows-errors"
    severity = Severity.WARNING
    fix_safety = FixSafety.UNSAFE
    dialects = ("sqlite", "mysql")
    needs = frozenset({TABLE, COLUMNS, VALUES})
    claim = "swallows"
    fails_at_planning = False

    what = """
Checks for MySQL/MariaDB `INSERT IGNORE`, SQLite `INSERT OR IGNORE`, and the ORM calls that
emit them (Django `bulk_create(ignore_conflicts=True)` and peewee `on_conflict_ignore()` on
those databases, SQLAlchemy `prefix_with("IGNORE")`), where the row can break a rule other
than a unique key that the IGNORE then hides: a NOT NULL column it sets to NULL or leaves
unset, and on MariaDB/MySQL a foreign key of the table or a length limit a value it binds
can exceed. Skipping the duplicate of a unique key is what the code asked for: an `INSERT OR
IGNORE` on SQLite that writes every NOT NULL column is not reported.
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
                **NOT_NULL, note="the row is silently dropped"),
        Invalid(SCHEMA, "INSERT IGNORE INTO items (k, v) VALUES (1, NULL)", strict_sql=STRICT, dialects=("mysql",),
                mysql_error=1048, mysql_message="Column 'v' cannot be null", note="strict mode, yet '' is stored"),
        Invalid(SCHEMA, "INSERT OR IGNORE INTO items (k) VALUES (2)", strict_sql="INSERT INTO items (k) VALUES (2)", dialects=("sqlite",),
                **NOT_NULL, note="v left unset: the row is silently dropped"),
        Invalid(SCHEMA, "INSERT IGNORE INTO items (k, v) VALUES (3, 'a string far over ten')",
                strict_sql="INSERT INTO items (k, v) VALUES (3, 'a string far over ten')", dialects=("mysql",), mysql_error=1406,
                mysql_message="Data too long for column 'v' at row 1",
                note="strict mode, yet the value is cut to varchar(10)"),
        Valid(SCHEMA, "INSERT INTO items (k, v) VALUES (1, 'x') ON CONFLICT (k) DO NOTHING", setup="INSERT INTO items VALUES (1, 'x')",
              dialects=("sqlite",)),
        Valid(SCHEMA, "INSERT OR IGNORE INTO items (k, v) VALUES (1, 'x')", setup="INSERT INTO items VALUES (1, 'x')",
              dialects=("sqlite",), note="every NOT NULL column written: only the duplicate key is skipped, as asked"),
        Valid(SCHEMA, "INSERT INTO items (k, v) VALUES (1, 'x') ON DUPLICATE KEY UPDATE k = k", setup="INSERT INTO items VALUES (1, 'x')",
              dialects=("mysql",)),
    )

    def check(self, site, table):
        statement = site.statement
        if statement.or_action != "IGNORE":
            return
        hidden = _rules_it_can_break(statement, table, site.dialect)
        if not hidden:
            return  # it can only skip the duplicate of a key: what the code asked for
        name = sql_table_name(table, site.dialect)
        keyword = "INSERT IGNORE" if site.dialect == "mysql" else "INSERT OR IGNORE"
        if site.dialect == "mysql":
            instead = "INSERT ... ON DUPLICATE KEY UPDATE <key column> = <key column>"
        else:
            instead = "INSERT ... ON CONFLICT (<key>) DO NOTHING"
        yield Violation(
            message=(
                f"{keyword} into {name} hides every error of the statement, not only duplicate keys, and this row can "
                f"break {'; '.join(hidden)}: the row is skipped or stored with a coerced value, without an error"
            ),
            fix=f"Skip only duplicates of the key: {instead}.",
            evidence=table_keys_evidence(table),
        )


_LENGTH = re.compile(r"\b(?:var)?char\s*\(\s*(\d+)", re.I)


def _may_overflow(column_type: str, values: list[str | None]) -> bool:
    """A char/varchar(n) column given a bound value (any length) or a literal over n characters."""
    limit = _LENGTH.search(column_type)
    if limit is None:
        return False
    if not values:
        return True  # no plain VALUES list: the values are not known
    return any(v is None or (v.startswith("'") and len(v) - 2 > int(limit[1])) for v in values)


def _rules_it_can_break(statement, table, dialect: str) -> list[str]:
    """The rules other than a unique key the row can break, as a list of phrases."""
    written = set(statement.columns) if statement.columns else set(table.columns)
    primary = {c for k in table.keys if k.kind is KeyKind.PRIMARY for c in k.column_set}
    broken = []
    not_null = [c.name for c in table.columns.values() if not c.nullable]
    unset = [c for c in not_null if c not in written and c not in primary]
    nulled = [c for c in statement.null_columns if c in not_null]
    if nulled:
        broken.append(f"NOT NULL on {', '.join(nulled)} (set to NULL)")
    if unset:
        broken.append(f"NOT NULL on {', '.join(unset)} (left unset: unless a default fills it)")
    if dialect == "mysql":
        if table.foreign_keys:
            broken.append("its foreign key" + ("s" if len(table.foreign_keys) > 1 else ""))
        limited = [c for c in written if c in table.columns and _may_overflow(table.columns[c].type, statement.literal_values(c))]
        if limited:
            broken.append(f"the length of {', '.join(sorted(limited))} (a value may be longer)")
    return broken
