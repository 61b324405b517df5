"""UPS008: ON CONFLICT DO UPDATE with no conflict target (PostgreSQL)."""

from auditor.evidence import sql_table_name, table_keys_evidence
from auditor.findings import FixSafety
from auditor.model import Severity
from auditor.rulebook import Invalid, Rule, Valid, Violation
from auditor.sites import ConflictAction
from auditor.sql.holes import TARGET

SCHEMA = "CREATE TABLE settings (user_id int PRIMARY KEY, theme text, updated_at timestamptz);"


class DoUpdateWithoutTarget(Rule):
    id = "UPS008"
    name = "do-update-without-target"
    severity = Severity.ERROR
    fix_safety = FixSafety.UNSAFE
    dialects = ("postgres",)
    needs = frozenset({TARGET})

    what = """
Checks `INSERT ... ON CONFLICT DO UPDATE` statements that name neither a conflict target
(`ON CONFLICT (cols)`) nor a constraint (`ON CONFLICT ON CONSTRAINT name`).
"""
    why = """
PostgreSQL must know which unique key decides "the row already exists" before it can update
that row, so it refuses the statement every time: `42601 ON CONFLICT DO UPDATE requires
inference specification or constraint name`. SQLite (3.35+) accepts a targetless DO UPDATE,
so code tested only against SQLite ships broken for PostgreSQL.
"""
    example = """
```sql
INSERT INTO settings (user_id, theme) VALUES (%s, %s)
ON CONFLICT DO UPDATE SET theme = EXCLUDED.theme;
```
"""
    use_instead = """
Name the key the upsert is about:

```sql
INSERT INTO settings (user_id, theme) VALUES (%s, %s)
ON CONFLICT (user_id) DO UPDATE SET theme = EXCLUDED.theme;
```
"""

    examples = (
        Invalid(
            SCHEMA,
            "INSERT INTO settings (user_id, theme) VALUES (1, 'dark') ON CONFLICT DO UPDATE SET theme = EXCLUDED.theme",
            sqlstate="42601",
            postgres_message="ON CONFLICT DO UPDATE requires inference specification or constraint name",
        ),
        Valid(
            SCHEMA,
            "INSERT INTO settings (user_id, theme) VALUES (1, 'dark') ON CONFLICT (user_id) DO UPDATE SET theme = EXCLUDED.theme",
            dialects=("postgres", "sqlite"),
        ),
        Valid(
            SCHEMA,
            "INSERT INTO settings (user_id, theme) VALUES (1, 'dark') ON CONFLICT DO UPDATE SET theme = EXCLUDED.theme",
            dialects=("sqlite",),
            note="SQLite accepts it: the rule is about PostgreSQL",
        ),
        Valid(SCHEMA, "INSERT INTO settings (user_id, theme) VALUES (1, 'dark') ON CONFLICT DO NOTHING", note="DO NOTHING needs no target"),
    )

    def check(self, site, table):
        conflict = site.statement.conflict
        if conflict is None or conflict.action is not ConflictAction.UPDATE or conflict.target or conflict.constraint:
            return
        name = sql_table_name(table, site.dialect)
        keys = [k for k in table.unique_keys if not k.predicate and not k.deferrable]
        suggestion = "(" + ", ".join(e.text for e in keys[0].elements) + ")" if len(keys) == 1 else None
        fix = (
            f"Name the conflict target: ON CONFLICT {suggestion} DO UPDATE ..."
            if suggestion
            else f"Name the conflict target: the columns of the unique key of {name} this upsert is about."
        )
        yield Violation(
            message=f"ON CONFLICT DO UPDATE on {name} names no conflict target; PostgreSQL rejects it every time (42601)",
            fix=fix,
            evidence=table_keys_evidence(table),
        )
