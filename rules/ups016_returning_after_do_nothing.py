"""UPS016: the row RETURNING gives back is read as if it always came, after DO NOTHING or DO UPDATE ... WHERE."""

from auditor.evidence import sql_table_name, table_keys_evidence
from auditor.findings import FixSafety
from auditor.model import Severity
from auditor.rulebook import Invalid, Rule, Valid, Violation
from auditor.sites import ConflictAction
from auditor.sql.holes import TARGET, UPDATE

SCHEMA = "CREATE TABLE users (id int PRIMARY KEY, email varchar(100) NOT NULL UNIQUE, name varchar(100));"
SETUP = "INSERT INTO users (id, email, name) VALUES (1, 'a@example.com', 'Ann')"
INSERT = "INSERT INTO users (id, email, name) VALUES (2, 'a@example.com', 'Ann') ON CONFLICT (email) {} RETURNING id"
NEW_EMAIL = "INSERT INTO users (id, email, name) VALUES (2, 'b@example.com', 'Bo') ON CONFLICT (email) DO NOTHING RETURNING id"
BOTH = ("postgres", "sqlite")


def reads_first_row(sql: str) -> str:
    """A DB-API function that reads the returned row without checking one came back."""
    return f"def save(conn):\n    cur = conn.cursor()\n    cur.execute({sql!r})\n    return cur.fetchone()[0]\n"


def checks_for_a_row(sql: str) -> str:
    return (
        f"def save(conn):\n    cur = conn.cursor()\n    cur.execute({sql!r})\n    row = cur.fetchone()\n"
        f"    return row[0] if row is not None else None\n"
    )


class ReturningAfterDoNothing(Rule):
    id = "UPS016"
    name = "returning-after-do-nothing"
    severity = Severity.ERROR
    fix_safety = FixSafety.UNSAFE
    dialects = ("postgres", "sqlite")
    needs = frozenset({TARGET, UPDATE})
    claim = "returns-nothing"
    fails_at_planning = False  # the statement runs; the Python reading its result fails

    what = """
Checks `INSERT ... ON CONFLICT DO NOTHING RETURNING ...` and `ON CONFLICT DO UPDATE ... WHERE
... RETURNING ...` whose returned row the code reads without checking that one came back
(`cur.fetchone()[0]`, `cur.execute(sql).fetchone()[0]`, `(await conn.fetchrow(sql))["id"]`).
"""
    why = """
RETURNING gives back only the rows the statement inserted or updated. When the key already
exists, DO NOTHING touches no row, and neither does DO UPDATE whose WHERE is false, so the
statement returns no row: `fetchone()` is `None` and `[0]` raises `TypeError` on exactly the
conflict the statement was written to handle.
"""
    example = """
```python
cur.execute(
    "INSERT INTO users (id, email) VALUES (%s, %s) ON CONFLICT (email) DO NOTHING RETURNING id"
)
user_id = cur.fetchone()[0]  # TypeError when the email exists
```
"""
    use_instead = """
Handle the missing row (read the existing one in a second query), or make the conflict update
the row so it is always returned:

```sql
INSERT INTO users (id, email) VALUES (%s, %s)
ON CONFLICT (email) DO UPDATE SET email = EXCLUDED.email RETURNING id;
```
"""

    examples = (
        Invalid(SCHEMA, INSERT.format("DO NOTHING"), setup=SETUP, dialects=BOTH, python=reads_first_row(INSERT.format("DO NOTHING"))),
        Invalid(
            SCHEMA,
            INSERT.format("DO UPDATE SET name = EXCLUDED.name WHERE users.name <> EXCLUDED.name"),
            setup=SETUP,
            dialects=BOTH,
            python=reads_first_row(INSERT.format("DO UPDATE SET name = EXCLUDED.name WHERE users.name <> EXCLUDED.name")),
            note="the name did not change, so the WHERE leaves the row alone",
        ),
        Valid(SCHEMA, INSERT.format("DO UPDATE SET name = EXCLUDED.name"), setup=SETUP, dialects=BOTH,
              python=reads_first_row(INSERT.format("DO UPDATE SET name = EXCLUDED.name"))),
        Valid(SCHEMA, NEW_EMAIL, setup=SETUP, dialects=BOTH, python=checks_for_a_row(NEW_EMAIL),
              note="the code checks for the row"),
    )

    def check(self, site, table):
        statement = site.statement
        conflict = statement.conflict
        if not (statement.returning and site.call.row_read and conflict is not None):
            return
        if conflict.action is ConflictAction.NOTHING:
            when = "DO NOTHING leaves the existing row alone"
        elif conflict.action is ConflictAction.UPDATE and conflict.update_where:
            when = "the DO UPDATE ... WHERE condition is false"
        else:
            return
        name = sql_table_name(table, site.dialect)
        yield Violation(
            message=(
                f"this INSERT into {name} returns no row when the key exists and {when}, but the code reads the "
                f"returned row without checking that one came back (TypeError / NoneType on every conflict)"
            ),
            fix="Check for a missing row and read the existing one, or make the conflict update the row "
            "(DO UPDATE SET <key> = EXCLUDED.<key>) so RETURNING always gives it back.",
            evidence=table_keys_evidence(table),
        )
