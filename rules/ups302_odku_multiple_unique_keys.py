"""UPS302: ON DUPLICATE KEY UPDATE on a row that can clash on more than one unique key."""

from auditor.arbiter import hittable_keys
from auditor.evidence import key_evidence, sql_table_name
from auditor.findings import FixSafety
from auditor.model import Severity
from auditor.rulebook import Invalid, Rule, Valid, Violation
from auditor.sites import ConflictAction
from auditor.sql.holes import COLUMNS, TABLE

SCHEMA = """
CREATE TABLE accounts (
    id int AUTO_INCREMENT PRIMARY KEY,
    email varchar(100) NOT NULL UNIQUE,
    username varchar(50) NOT NULL UNIQUE,
    note varchar(50)
);
"""
ONE_KEY = SCHEMA.replace("username varchar(50) NOT NULL UNIQUE", "username varchar(50) NOT NULL")
SETUP = "INSERT INTO accounts (email, username) VALUES ('a@example.com', 'alice'), ('b@example.com', 'bob')"
ALICE = "SELECT note FROM accounts WHERE username = 'alice'"
ODKU = "INSERT INTO accounts (email, username, note) VALUES ('{}', 'bob', 'new') ON DUPLICATE KEY UPDATE note = VALUES(note)"


class OdkuMultipleUniqueKeys(Rule):
    id = "UPS302"
    name = "odku-multiple-unique-keys"
    severity = Severity.WARNING
    fix_safety = FixSafety.UNSAFE
    dialects = ("mysql",)
    needs = frozenset({TABLE, COLUMNS})
    claim = "overwrites"
    fails_at_planning = False

    what = """
Checks `INSERT ... ON DUPLICATE KEY UPDATE` where the inserted row holds the columns of more
than one unique key (the primary key counts when the statement supplies it).
"""
    why = """
MySQL and MariaDB take no conflict target: a clash on *any* unique key fires the update, and
when the new row clashes with different rows on different keys only one of them is updated
and the other clash is silently ignored. MySQL's manual: "you should try to avoid using an
ON DUPLICATE KEY UPDATE clause on tables with multiple unique indexes". The row updated is
not necessarily the one the code means.
"""
    example = """
```sql
-- accounts: email UNIQUE, username UNIQUE
INSERT INTO accounts (email, username, note) VALUES (%s, %s, %s)
ON DUPLICATE KEY UPDATE note = VALUES(note);
```
"""
    use_instead = """
Decide which key identifies the row and write only that one in the upsert (update the other
unique columns in a separate, checked UPDATE), or look the row up by each key first inside a
transaction.
"""

    examples = (
        Invalid(SCHEMA, ODKU.format("a@example.com"), setup=SETUP, observe=ALICE, dialects=("mysql",),
                note="a@example.com is alice's; bob's username clash is ignored, alice's row is updated"),
        Valid(ONE_KEY, ODKU.format("b@example.com"), setup=SETUP, observe=ALICE, dialects=("mysql",),
              note="one key: the row with that key is the one updated"),
    )

    def check(self, site, table):
        conflict = site.statement.conflict
        if conflict is None or conflict.action is not ConflictAction.DUPLICATE_KEY_UPDATE:
            return
        keys = hittable_keys(site.statement, table)
        if len(keys) < 2:
            return
        name = sql_table_name(table, site.dialect)
        yield Violation(
            message=(
                f"ON DUPLICATE KEY UPDATE on {name} writes the columns of {len(keys)} unique keys "
                f"({'; '.join(k.describe() for k in keys)}): a clash on any of them fires the update, and when the row "
                f"clashes with different rows only one is updated and the other clash is silently ignored"
            ),
            fix="Write only the columns of the key that identifies the row in the upsert, and change the other unique "
            "columns with a separate UPDATE.",
            evidence=tuple(key_evidence(k) for k in keys),
        )
