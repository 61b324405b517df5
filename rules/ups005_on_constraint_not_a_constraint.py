"""UPS005: ON CONFLICT ON CONSTRAINT names a unique index, or nothing (PostgreSQL)."""

from auditor.evidence import elements_sql, key_evidence, sql_table_name, table_keys_evidence
from auditor.findings import FixSafety
from auditor.model import KeyKind, Severity
from auditor.rulebook import Invalid, Rule, Valid, Violation
from auditor.sql.holes import TABLE, TARGET

SCHEMA = """
CREATE TABLE tags (id int PRIMARY KEY, slug text NOT NULL);
CREATE UNIQUE INDEX tags_slug_idx ON tags (slug);
"""


class OnConstraintNotAConstraint(Rule):
    id = "UPS005"
    name = "on-constraint-not-a-constraint"
    severity = Severity.ERROR
    fix_safety = FixSafety.SAFE
    dialects = ("postgres",)
    needs = frozenset({TABLE, TARGET})

    what = """
Checks `ON CONFLICT ON CONSTRAINT name`: the name must be a primary key, unique or exclusion
*constraint* of the table, not a unique index and not a name that does not exist.
"""
    why = """
A unique index is not a constraint, even when it enforces uniqueness the same way.
`ON CONSTRAINT` looks names up among constraints only and PostgreSQL raises `42704 constraint
"tags_slug_idx" for table "tags" does not exist`. Partial and expression unique keys (including
Django's conditional `UniqueConstraint`) are always indexes, so they can only be reached by
inference.
"""
    example = """
```sql
-- CREATE UNIQUE INDEX tags_slug_idx ON tags (slug);
INSERT INTO tags (id, slug) VALUES (1, 'a') ON CONFLICT ON CONSTRAINT tags_slug_idx DO NOTHING;
```
"""
    use_instead = """
Infer the arbiter from the index's columns (this also survives the index being replaced):

```sql
INSERT INTO tags (id, slug) VALUES (1, 'a') ON CONFLICT (slug) DO NOTHING;
```
"""

    examples = (
        Invalid(SCHEMA, "INSERT INTO tags (id, slug) VALUES (1, 'a') ON CONFLICT ON CONSTRAINT tags_slug_idx DO NOTHING", sqlstate="42704",
                postgres_message='constraint "tags_slug_idx" for table "tags" does not exist'),
        Invalid(
            SCHEMA,
            "INSERT INTO tags (id, slug) VALUES (1, 'a') ON CONFLICT ON CONSTRAINT tags_slug_key DO UPDATE SET slug = EXCLUDED.slug",
            sqlstate="42704",
            postgres_message='constraint "tags_slug_key" for table "tags" does not exist',
            note="no key of that name",
        ),
        Valid(SCHEMA, "INSERT INTO tags (id, slug) VALUES (1, 'a') ON CONFLICT ON CONSTRAINT tags_pkey DO NOTHING"),
    )

    def check(self, site, table):
        conflict = site.statement.conflict
        if conflict is None or not conflict.constraint:
            return
        key = table.key_named(conflict.constraint)
        if key is not None and key.kind.is_constraint:
            return
        name = sql_table_name(table, site.dialect)
        if key is None:
            yield Violation(
                message=f"ON CONSTRAINT {conflict.constraint}: {name} has no constraint of that name; PostgreSQL rejects the statement (42704)",
                fix="Name an existing primary key or unique constraint, or infer the arbiter from its columns: ON CONFLICT (<columns>)",
                evidence=table_keys_evidence(table),
            )
            return
        assert key.kind is KeyKind.UNIQUE_INDEX
        target = f"({elements_sql(key)})" + (f" WHERE {key.predicate}" if key.predicate else "")
        yield Violation(
            message=(
                f"ON CONSTRAINT {conflict.constraint} names a unique index of {name}, not a constraint; "
                f"PostgreSQL rejects the statement (42704)"
            ),
            fix="Infer the arbiter from the index's own columns (and predicate) instead of naming it.",
            evidence=(key_evidence(key),),
            fix_code=f"ON CONFLICT {target}",
        )
