"""UPS012: ON CONFLICT DO NOTHING without a target, on a table with more than one unique key."""

from auditor.arbiter import hittable_keys
from auditor.evidence import sql_table_name, table_keys_evidence
from auditor.findings import FixSafety
from auditor.model import Severity
from auditor.rulebook import Invalid, Rule, Valid, Violation
from auditor.sites import ConflictAction
from auditor.sql.holes import COLUMNS, TABLE, TARGET

SCHEMA = "CREATE TABLE accounts (id int PRIMARY KEY, email text NOT NULL UNIQUE, name text);"
SINGLE_KEY = "CREATE TABLE tags (name text PRIMARY KEY, note text);"


class TargetlessDoNothing(Rule):
    id = "UPS012"
    name = "targetless-do-nothing"
    severity = Severity.WARNING
    fix_safety = FixSafety.UNSAFE
    dialects = ("postgres", "sqlite")
    needs = frozenset({TABLE, TARGET, COLUMNS})
    claim = "skips"
    fails_at_planning = False  # nothing fails: the row is silently not inserted

    what = """
Checks `INSERT ... ON CONFLICT DO NOTHING` with no conflict target when the row it writes can
clash on more than one unique key (primary key included; a key over columns the statement
leaves to their defaults, such as a serial id, cannot clash, and neither can a primary key
the application fills for each new object, `UUIDField(primary_key=True, default=uuid.uuid4)`
in a Django or peewee bulk insert; a SQLAlchemy `insert(Model).values(rows)` whose rows are
not known is not checked at all).
"""
    why = """
Without a target every unique key is an arbiter: a row that clashes with *any* of them is
dropped without an error. An insert meant to skip existing ids also silently swallows a new id
whose email is already taken, so data the caller believes was saved never was.
"""
    example = """
```sql
-- accounts: id PRIMARY KEY, email UNIQUE
INSERT INTO accounts (id, email) VALUES (%s, %s) ON CONFLICT DO NOTHING;
```
"""
    use_instead = """
Name the key whose duplicates you mean to skip, so a clash on any other key still raises:

```sql
INSERT INTO accounts (id, email) VALUES (%s, %s) ON CONFLICT (id) DO NOTHING;
```
"""

    examples = (
        Invalid(
            SCHEMA,
            "INSERT INTO accounts (id, email) VALUES (2, 'a@example.com') ON CONFLICT DO NOTHING",
            setup="INSERT INTO accounts (id, email) VALUES (1, 'a@example.com')",
            dialects=("postgres", "sqlite"),
            note="a new account (id 2) is dropped because its email is taken",
        ),
        Valid(
            SINGLE_KEY,
            "INSERT INTO tags (name) VALUES ('new') ON CONFLICT DO NOTHING",
            setup="INSERT INTO tags (name) VALUES ('old')",
            dialects=("postgres", "sqlite"),
            note="one key: nothing else to swallow",
        ),
    )

    def check(self, site, table):
        conflict = site.statement.conflict
        if conflict is None or conflict.action is not ConflictAction.NOTHING or conflict.target or conflict.constraint:
            return
        keys = [k for k in hittable_keys(site.statement, table) if not k.predicate]
        if len(keys) < 2:
            return
        name = sql_table_name(table, site.dialect)
        described = "; ".join(k.describe() for k in keys)
        yield Violation(
            message=(
                f"ON CONFLICT DO NOTHING without a target on {name}, which has {len(keys)} unique keys ({described}): "
                f"a row that clashes with any of them is silently not inserted"
            ),
            fix="Name the key whose duplicates are meant to be skipped: ON CONFLICT (<its columns>) DO NOTHING.",
            evidence=table_keys_evidence(table),
        )
