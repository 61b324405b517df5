"""UPS003: the key is an expression index but the target names the bare column."""

from auditor.arbiter import NO_ARBITER_ERRORS, has_column_target, infer
from auditor.evidence import elements_sql, key_evidence, sql_table_name
from auditor.findings import FixSafety
from auditor.model import Severity
from auditor.rulebook import Invalid, Rule, Valid, Violation
from auditor.sql.holes import TABLE, TARGET

SCHEMA = """
CREATE TABLE users (id int PRIMARY KEY, email text NOT NULL);
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));
"""


class ExpressionIndexTarget(Rule):
    id = "UPS003"
    name = "expression-index-target"
    severity = Severity.ERROR
    fix_safety = FixSafety.SAFE
    dialects = ("postgres", "sqlite")
    needs = frozenset({TABLE, TARGET})

    what = """
Checks upserts on a column whose unique key is an expression index, such as
`CREATE UNIQUE INDEX ... ON users (lower(email))`, while the conflict target names the bare
column `(email)`.
"""
    why = """
Inference compares expressions, not the columns inside them: `(email)` does not match an index
on `lower(email)`, so PostgreSQL raises `42P10 there is no unique or exclusion constraint
matching the ON CONFLICT specification` and SQLite `ON CONFLICT clause does not match any
PRIMARY KEY or UNIQUE constraint`. Spelling differences do not matter: `(lower(email))` and
`((LOWER((email))))` both match.
"""
    example = """
```sql
INSERT INTO users (id, email) VALUES (1, 'A@x') ON CONFLICT (email) DO NOTHING;
```
"""
    use_instead = """
```sql
INSERT INTO users (id, email) VALUES (1, 'A@x') ON CONFLICT (lower(email)) DO NOTHING;
```
"""

    examples = (
        Invalid(
            SCHEMA,
            "INSERT INTO users (id, email) VALUES (1, 'A@x') ON CONFLICT (email) DO NOTHING",
            **NO_ARBITER_ERRORS,
        ),
        Valid(
            SCHEMA,
            "INSERT INTO users (id, email) VALUES (1, 'A@x') ON CONFLICT (lower(email)) DO NOTHING",
            dialects=("postgres", "sqlite"),
        ),
        Valid(
            SCHEMA,
            "INSERT INTO users (id, email) VALUES (1, 'A@x') ON CONFLICT ((LOWER((email)))) DO UPDATE SET id = EXCLUDED.id",
            note="parentheses and case do not matter",
        ),
    )

    def check(self, site, table):
        conflict = site.statement.conflict
        if not has_column_target(conflict):
            return
        inference = infer(conflict, table, site.dialect)
        if inference.arbiters or inference.partial_misses or not inference.expression_misses:
            return
        name = sql_table_name(table, site.dialect)
        target = ", ".join(e.text for e in conflict.target)
        key = inference.expression_misses[0]
        yield Violation(
            message=(
                f"ON CONFLICT ({target}) names the bare column, but the unique key of {name} on it is the "
                f"expression index {key.name} ({elements_sql(key)}); the database finds no arbiter and rejects the statement"
            ),
            fix="Target the index expression instead of the bare column.",
            evidence=tuple(key_evidence(k) for k in inference.expression_misses),
            fix_code=f"ON CONFLICT ({elements_sql(key)})",
        )
