"""UPS108: check that no row has a value, then UPDATE a row to that value."""

from auditor.findings import FixSafety
from auditor.model import Severity
from auditor.races import case_gap, case_gap_key, case_gap_outcome, key_list, race_evidence, race_severity, unique_violation
from auditor.arbiter import covering_key
from auditor.evidence import sql_table_name
from auditor.rulebook import IdiomRule, Invalid, Valid, Violation
from auditor.sites import IdiomKind

NO_KEY = "CREATE TABLE users (id int PRIMARY KEY, name varchar(30) NOT NULL);"
KEYED = "CREATE TABLE users (id int PRIMARY KEY, name varchar(30) NOT NULL UNIQUE);"

RAW = '''
import psycopg

def rename(conn, user_id, name):
    taken = conn.execute("SELECT 1 FROM users WHERE name = %s", (name,)).fetchone()
    if taken:
        return "Username already taken."
    conn.execute("UPDATE users SET name = %s WHERE id = %s", (name, user_id))
'''

CAUGHT = '''
import psycopg

def rename(conn, user_id, name):
    taken = conn.execute("SELECT 1 FROM users WHERE name = %s", (name,)).fetchone()
    if taken:
        return "Username already taken."
    try:
        with conn.transaction():
            conn.execute("UPDATE users SET name = %s WHERE id = %s", (name, user_id))
    except psycopg.errors.UniqueViolation:
        return "Username already taken."
'''

FOUND_THEN_UPDATE = '''
import psycopg

def touch(conn, user_id, name):
    row = conn.execute("SELECT 1 FROM users WHERE name = %s", (name,)).fetchone()
    if row is None:
        return None
    conn.execute("UPDATE users SET name = %s WHERE id = %s", (name, user_id))
'''


class CheckThenUpdate(IdiomRule):
    id = "UPS108"
    name = "check-then-update"
    severity = Severity.WARNING
    fix_safety = FixSafety.MIGRATION
    dialects = ("postgres", "sqlite", "mysql")
    idioms = (IdiomKind.CHECK_THEN_UPDATE,)

    what = """
Checks code that looks for a row holding a value (`SELECT 1 FROM users WHERE name = %s`) and,
when none does, UPDATEs a row to that value (`UPDATE users SET name = %s WHERE id = %s`): a
rename, a change of e-mail, a claimed handle.
"""
    why = """
Between the check and the UPDATE another writer can claim the same value: both see it free,
both update, and two rows now hold it (two users with one name) where no unique key covers
the column. With a unique key the second UPDATE fails with a unique violation, which the
caller sees as an error unless the code catches it around the UPDATE (then the finding is
`info`). Only the key makes the value unique; the check is a courtesy for the message.
"""
    example = """
```python
if conn.execute("SELECT 1 FROM users WHERE name = %s", (name,)).fetchone():
    return "Username already taken."
conn.execute("UPDATE users SET name = %s WHERE id = %s", (name, user_id))
```
"""
    use_instead = """
Add the unique key (after resolving the rows that already share a value), and let the UPDATE
decide, keeping the check only for a friendly message:

```python
try:
    with conn.transaction():
        conn.execute("UPDATE users SET name = %s WHERE id = %s", (name, user_id))
except psycopg.errors.UniqueViolation:
    return "Username already taken."
```
"""

    examples = (
        Invalid(NO_KEY, "", python=RAW, dialects=("postgres",), note="no key: two renames leave two users with one name"),
        Invalid(KEYED, "", python=RAW, dialects=("postgres",), note="a key: the second rename fails with 23505, uncaught"),
        Invalid(KEYED, "", python=CAUGHT, dialects=("postgres",), note="info: the unique violation is caught"),
        Valid(NO_KEY, "", python=FOUND_THEN_UPDATE, dialects=("postgres",), note="updates only when the value is found: no claim"),
    )

    def check(self, site, table):
        key = covering_key(table, site.key_columns, site.case_folded)
        gap = case_gap(site, key, table)
        name = sql_table_name(table, site.dialect)
        columns = key_list(site.key_columns)
        if gap:
            outcome = case_gap_outcome(site, key, gap, "update")
            fix = case_gap_key(site, table, gap)[0] + ", then catch the unique violation around the UPDATE."
        elif key is None:
            outcome = (f"no unique key of {name} covers {columns}, so two writers at once both find the value free, "
                       f"both update, and two rows end up holding it")
            fix = (f"Add a unique key on {columns} to {name} (resolve the rows that already share a value first), "
                   f"then catch the unique violation around the UPDATE.")
        else:
            caught = "which the code catches" if site.call.violation_handled else "which the code does not catch"
            outcome = (f"the {key.describe()} stops a second row, so of two writers at once the second fails with "
                       f"{unique_violation(site.dialect)}, {caught}")
            fix = "Catch the unique violation around the UPDATE (in a savepoint) and answer as the check does."
        yield Violation(
            message=f"check-then-update on {site.table.name} by {columns}: {outcome}",
            fix=fix,
            evidence=race_evidence(key, table),
            severity=race_severity(site, key, table),
        )
