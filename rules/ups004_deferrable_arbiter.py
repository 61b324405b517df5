"""UPS004: a DEFERRABLE unique key would arbitrate the conflict (PostgreSQL)."""

from auditor.arbiter import has_column_target, infer
from auditor.evidence import key_evidence, sql_table_name
from auditor.findings import FixSafety
from auditor.model import Severity
from auditor.rulebook import Invalid, Rule, Valid, Violation
from auditor.sites import ConflictAction
from auditor.sql.holes import TABLE, TARGET

SCHEMA = """
CREATE TABLE codes (
    id int PRIMARY KEY,
    code text NOT NULL UNIQUE DEFERRABLE INITIALLY DEFERRED,
    label text
);
"""


DEFERRABLE_ARBITER = {"sqlstate": "55000", "postgres_message": "ON CONFLICT does not support deferrable unique constraints/exclusion constraints as arbiters"}

class DeferrableArbiter(Rule):
    id = "UPS004"
    name = "deferrable-arbiter"
    severity = Severity.ERROR
    fix_safety = FixSafety.MIGRATION
    dialects = ("postgres",)
    needs = frozenset({TABLE, TARGET})
    fails_at_planning = False  # 55000 is raised by the executor, so `verify` cannot see it

    what = """
Checks `ON CONFLICT` statements whose arbiter is a `DEFERRABLE` unique constraint, and
targetless `ON CONFLICT DO NOTHING` on a table that has any deferrable unique or exclusion
constraint (a targetless clause uses every key of the table as an arbiter).
"""
    why = """
PostgreSQL cannot use deferrable constraints as arbiters and raises `55000 ON CONFLICT does not
support deferrable unique constraints/exclusion constraints as arbiters` when the statement
runs, even on an empty table where nothing conflicts. A targetless `DO NOTHING`, often thought
"always safe", fails the same way once any key of the table is deferrable.
"""
    example = """
```sql
-- code text UNIQUE DEFERRABLE INITIALLY DEFERRED
INSERT INTO codes (id, code) VALUES (1, 'a') ON CONFLICT (code) DO NOTHING;
```
"""
    use_instead = """
Add a non-deferrable unique index on the same columns (it becomes the arbiter), or target
another, non-deferrable key:

```sql
CREATE UNIQUE INDEX CONCURRENTLY codes_code_arbiter ON codes (code);
```
"""

    examples = (
        Invalid(SCHEMA, "INSERT INTO codes (id, code) VALUES (1, 'a') ON CONFLICT (code) DO NOTHING", **DEFERRABLE_ARBITER),
        Invalid(
            SCHEMA,
            "INSERT INTO codes (id, code) VALUES (1, 'a') ON CONFLICT DO NOTHING",
            **DEFERRABLE_ARBITER,
            note="targetless DO NOTHING arbitrates with every key",
        ),
        Valid(
            SCHEMA,
            "INSERT INTO codes (id, code, label) VALUES (1, 'a', 'x') ON CONFLICT (id) DO UPDATE SET label = EXCLUDED.label",
            note="another, non-deferrable key is the arbiter",
        ),
        Valid(
            SCHEMA.replace(" DEFERRABLE INITIALLY DEFERRED", ""),
            "INSERT INTO codes (id, code) VALUES (1, 'a') ON CONFLICT DO NOTHING",
        ),
    )

    def check(self, site, table):
        conflict = site.statement.conflict
        if conflict is None or conflict.action is ConflictAction.DUPLICATE_KEY_UPDATE:
            return
        if has_column_target(conflict):
            deferrable = [k for k in infer(conflict, table, site.dialect).arbiters if k.deferrable]
            how = f"its arbiter for ON CONFLICT ({', '.join(e.text for e in conflict.target)})"
        elif conflict.constraint:
            named = table.key_named(conflict.constraint)
            deferrable = [named] if named is not None and named.deferrable else []
            how = f"the constraint it names, {conflict.constraint},"
        elif conflict.action is ConflictAction.NOTHING:
            deferrable = [k for k in table.keys if k.deferrable]
            how = "a targetless DO NOTHING arbitrates with every key, and"
        else:
            return
        if not deferrable:
            return
        name = sql_table_name(table, site.dialect)
        keys = ", ".join(k.name or k.describe() for k in deferrable)
        columns = ", ".join(e.text for e in deferrable[0].elements)
        yield Violation(
            message=(
                f"{how} is DEFERRABLE ({keys} on {name}); PostgreSQL rejects the statement when it runs "
                f"(55000), even when nothing conflicts"
            ),
            fix="Give the arbiter a non-deferrable unique index on the same columns, or target another key.",
            evidence=tuple(key_evidence(k) for k in deferrable),
            fix_code=(
                f"CREATE UNIQUE INDEX CONCURRENTLY {table.name.name}_{'_'.join(c for e in deferrable[0].elements for c in e.columns)}_arbiter "
                f"ON {name} ({columns});"
            ),
        )
