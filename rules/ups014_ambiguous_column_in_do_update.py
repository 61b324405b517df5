"""UPS014: an unqualified column in DO UPDATE SET / WHERE (PostgreSQL 42702)."""

from auditor.evidence import sql_table_name, table_keys_evidence
from auditor.findings import FixSafety
from auditor.model import Severity
from auditor.rulebook import Invalid, Rule, Valid, Violation
from auditor.sites import ConflictAction
from auditor.sql.holes import UPDATE

SCHEMA = "CREATE TABLE page_hits (page text PRIMARY KEY, hits int NOT NULL DEFAULT 0, last_seen timestamptz);"


class AmbiguousColumnInDoUpdate(Rule):
    id = "UPS014"
    name = "ambiguous-column-in-do-update"
    severity = Severity.ERROR
    fix_safety = FixSafety.SAFE
    dialects = ("postgres",)
    needs = frozenset({UPDATE})

    what = """
Checks the values and the `WHERE` of `ON CONFLICT ... DO UPDATE` for column references that
name no table, such as `SET hits = hits + 1`.
"""
    why = """
Inside DO UPDATE two rows are in scope: the existing row (the table's name or alias) and the
row proposed for insertion (`EXCLUDED`). PostgreSQL refuses to guess and rejects the statement
every time: `42702 column reference "hits" is ambiguous`. SQLite silently picks the existing
row, so code tested only against SQLite ships broken for PostgreSQL.
"""
    example = """
```sql
INSERT INTO page_hits (page, hits) VALUES (%s, 1)
ON CONFLICT (page) DO UPDATE SET hits = hits + 1;
```
"""
    use_instead = """
Say which row you mean: the table for the existing row, `EXCLUDED` for the new one.

```sql
INSERT INTO page_hits (page, hits) VALUES (%s, 1)
ON CONFLICT (page) DO UPDATE SET hits = page_hits.hits + 1;
```
"""

    examples = (
        Invalid(
            SCHEMA,
            "INSERT INTO page_hits (page, hits) VALUES ('/', 1) ON CONFLICT (page) DO UPDATE SET hits = hits + 1",
            setup="INSERT INTO page_hits (page, hits) VALUES ('/', 1)",
            sqlstate="42702",
            postgres_message='column reference "hits" is ambiguous',
        ),
        Invalid(
            SCHEMA,
            "INSERT INTO page_hits (page, hits) VALUES ('/', 1) ON CONFLICT (page) DO UPDATE SET hits = EXCLUDED.hits "
            "WHERE last_seen IS NULL",
            sqlstate="42702",
            postgres_message='column reference "last_seen" is ambiguous',
            note="in the DO UPDATE WHERE",
        ),
        Valid(
            SCHEMA,
            "INSERT INTO page_hits (page, hits) VALUES ('/', 1) ON CONFLICT (page) DO UPDATE SET hits = page_hits.hits + EXCLUDED.hits, "
            "last_seen = DEFAULT",
            note="qualified references, and the DEFAULT keyword",
        ),
        Valid(
            SCHEMA,
            "INSERT INTO page_hits (page, hits) VALUES ('/', 1) ON CONFLICT (page) DO UPDATE SET hits = page_hits.hits + 1",
            dialects=("postgres", "sqlite"),
        ),
        Valid(
            SCHEMA,
            "INSERT INTO page_hits (page, hits) VALUES ('/', 1) ON CONFLICT (page) DO UPDATE SET hits = hits + 1",
            dialects=("sqlite",),
            note="SQLite takes the existing row: the rule is about PostgreSQL",
        ),
        Valid(
            SCHEMA,
            "INSERT INTO page_hits (page, hits) VALUES ('/', 1) ON CONFLICT (page) DO UPDATE SET hits = (SELECT max(hits) FROM page_hits)",
            note="a subquery has its own scope",
        ),
    )

    def check(self, site, table):
        conflict = site.statement.conflict
        if conflict is None or conflict.action is not ConflictAction.UPDATE or not conflict.unqualified_columns:
            return
        name = sql_table_name(table, site.dialect)
        columns = ", ".join(conflict.unqualified_columns)
        first = conflict.unqualified_columns[0]
        yield Violation(
            message=(
                f"DO UPDATE on {name} refers to {columns} without saying which row: both {name} and EXCLUDED are in scope, "
                f"so PostgreSQL rejects the statement (42702)"
            ),
            fix=f"Qualify each reference: {table.name.name}.{first} for the existing row, EXCLUDED.{first} for the proposed one.",
            evidence=table_keys_evidence(table),
        )
