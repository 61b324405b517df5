"""UPS013: DO UPDATE / ON DUPLICATE KEY UPDATE changes a column of the key that fired it."""

from auditor.arbiter import arbiter_keys
from auditor.evidence import key_evidence, sql_table_name
from auditor.findings import FixSafety
from auditor.model import Severity
from auditor.rulebook import Invalid, Rule, Valid, Violation
from auditor.sites import ConflictAction
from auditor.sql.holes import TARGET, UPDATE

SCHEMA = "CREATE TABLE slots (k int NOT NULL UNIQUE, n int);"
SETUP = "INSERT INTO slots (k, n) VALUES (1, 0), (2, 0)"
UPSERT = "INSERT INTO slots (k, n) VALUES (1, 1) ON CONFLICT (k) DO UPDATE SET {}"
ODKU = "INSERT INTO slots (k, n) VALUES (1, 1) ON DUPLICATE KEY UPDATE {}"
# The same named bind parameter in VALUES and SET is one value: the key the row already has.
NAMED = "INSERT INTO slots (k, n) VALUES ({k}, 1) ON CONFLICT (k) DO UPDATE SET k = {k}, n = EXCLUDED.n"
ODKU_NAMED = "INSERT INTO slots (k, n) VALUES (%(k)s, 1) ON DUPLICATE KEY UPDATE k = %(k)s, n = n + 1"
POSITIONAL = "INSERT INTO slots (k, n) VALUES (%s, 1) ON CONFLICT (k) DO UPDATE SET k = %s"
TAKEN = {
    "sqlstate": "23505", "postgres_message": 'duplicate key value violates unique constraint "slots_k_key"',
    "sqlite_code": "SQLITE_CONSTRAINT_UNIQUE", "sqlite_error": "UNIQUE constraint failed: slots.k",
    "mysql_error": 1062, "mysql_message": "Duplicate entry '2' for key 'k'",
}


class UpdatesConflictKey(Rule):
    id = "UPS013"
    name = "updates-conflict-key"
    severity = Severity.WARNING
    fix_safety = FixSafety.UNSAFE
    dialects = ("postgres", "sqlite", "mysql")
    needs = frozenset({TARGET, UPDATE})

    what = """
Checks the assignments of `ON CONFLICT ... DO UPDATE SET` and `ON DUPLICATE KEY UPDATE` for
a column of the unique key whose conflict fires the update (the conflict target; on MySQL any
unique key the inserted row can hit). `SET k = EXCLUDED.k` (or `k = VALUES(k)`) assigns the
value the row already has and is not reported, and so does `SET k = :k` when the row inserts
the same named or numbered bind parameter into `k` (`:k`, `%(k)s`, `$1`). A positional `?` or
`%s` is a new value each time, so `SET k = %s` is still reported.
"""
    why = """
The update runs because a row with this key already exists, and then moves that row to another
key. When the new key is taken the statement fails (`23505` on PostgreSQL, `UNIQUE constraint
failed` on SQLite, `1062 Duplicate entry` on MariaDB); when it is free the row silently
changes identity, so the next upsert of the original key inserts a new row instead of
updating, and anything that looked the row up by its key loses it.
"""
    example = """
```sql
INSERT INTO slots (k, n) VALUES (%s, 1)
ON CONFLICT (k) DO UPDATE SET k = slots.k + 1;
```
"""
    use_instead = """
Update only the non-key columns; change a row's key with an explicit `UPDATE ... WHERE k = ...`.

```sql
INSERT INTO slots (k, n) VALUES (%s, 1)
ON CONFLICT (k) DO UPDATE SET n = slots.n + 1;
```
"""

    examples = (
        Invalid(SCHEMA, UPSERT.format("k = slots.k + 1"), setup=SETUP, dialects=("postgres", "sqlite"), **TAKEN),
        Invalid(SCHEMA, ODKU.format("k = k + 1"), setup=SETUP, dialects=("mysql",), **TAKEN),
        Valid(SCHEMA, UPSERT.format("n = slots.n + 1"), setup=SETUP, dialects=("postgres", "sqlite")),
        Valid(SCHEMA, UPSERT.format("k = EXCLUDED.k, n = EXCLUDED.n"), setup=SETUP, dialects=("postgres", "sqlite"),
              note="assigning the key its own value changes nothing"),
        Valid(SCHEMA, ODKU.format("n = n + 1, k = VALUES(k)"), setup=SETUP, dialects=("mysql",)),
        Valid(SCHEMA, NAMED.format(k="%(k)s"), setup=SETUP, params={"k": 1}, dialects=("postgres",),
              note="the same parameter the row inserts into k: the value it already has"),
        Valid(SCHEMA, NAMED.format(k=":k"), setup=SETUP, params={"k": 1}, dialects=("sqlite",)),
        Valid(SCHEMA, ODKU_NAMED, setup=SETUP, params={"k": 1}, dialects=("mysql",)),
        Invalid(SCHEMA, NAMED.format(k="%(k)s").replace("SET k = %(k)s", "SET k = %(new)s"), setup=SETUP,
                params={"k": 1, "new": 2}, dialects=("postgres",), note="another parameter: the key moves", **TAKEN),
        Invalid(SCHEMA, POSITIONAL, setup=SETUP, params=(1, 2), dialects=("postgres", "sqlite"),
                note="each positional placeholder is a value of its own", **TAKEN),
    )

    def check(self, site, table):
        statement = site.statement
        conflict = statement.conflict
        if conflict is None or conflict.action is ConflictAction.NOTHING:
            return
        changed = [c for c in conflict.update_columns if c not in conflict.identity_updates]
        keys = [k for k in arbiter_keys(statement, table, site.dialect) if k.element_set & set(changed)]
        if not keys:
            return
        columns = sorted({c for k in keys for c in k.element_set} & set(changed))
        name = sql_table_name(table, site.dialect)
        yield Violation(
            message=(
                f"the conflict update assigns {', '.join(columns)}, a column of the key that fired it "
                f"({'; '.join(k.describe() for k in keys)}) on {name}: it fails when the new key is taken "
                f"and otherwise silently moves the row to another key"
            ),
            fix=f"Do not assign {', '.join(columns)} in the conflict update; change a row's key with an explicit UPDATE.",
            evidence=tuple(key_evidence(k) for k in keys),
        )
