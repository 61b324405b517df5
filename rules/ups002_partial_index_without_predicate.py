"""UPS002: a partial unique index targeted without a predicate that implies its WHERE."""

from auditor.arbiter import NO_ARBITER_ERRORS, has_column_target, infer
from auditor.evidence import key_evidence, sql_table_name
from auditor.findings import FixSafety
from auditor.model import Severity
from auditor.rulebook import Invalid, Rule, Valid, Violation
from auditor.sql.holes import TABLE, TARGET

SCHEMA = """
CREATE TABLE accounts (id int PRIMARY KEY, email text NOT NULL, deleted_at timestamptz);
CREATE UNIQUE INDEX accounts_live_email ON accounts (email) WHERE deleted_at IS NULL;
"""


class PartialIndexWithoutPredicate(Rule):
    id = "UPS002"
    name = "partial-index-without-predicate"
    severity = Severity.ERROR
    fix_safety = FixSafety.SAFE
    dialects = ("postgres", "sqlite")
    needs = frozenset({TABLE, TARGET})

    what = """
Checks upserts whose only matching unique key is a partial unique index (`CREATE UNIQUE INDEX
... WHERE ...`, the soft-delete pattern): the statement must repeat an index predicate
(`ON CONFLICT (cols) WHERE <predicate>`) that implies the index's own WHERE clause.
"""
    why = """
A partial index only arbitrates conflicts when the statement's index predicate implies the
index's predicate. Without it, PostgreSQL finds no arbiter and raises `42P10 there is no unique
or exclusion constraint matching the ON CONFLICT specification`; SQLite raises `ON CONFLICT
clause does not match any PRIMARY KEY or UNIQUE constraint`. A stronger predicate (more
conditions) still works; an unrelated one does not. The tool proves implication by matching
conjuncts, so an equivalent predicate spelled differently is reported as "could not prove".
"""
    example = """
```sql
-- CREATE UNIQUE INDEX accounts_live_email ON accounts (email) WHERE deleted_at IS NULL;
INSERT INTO accounts (id, email) VALUES (1, 'a@x') ON CONFLICT (email) DO NOTHING;
```
"""
    use_instead = """
```sql
INSERT INTO accounts (id, email) VALUES (1, 'a@x')
ON CONFLICT (email) WHERE deleted_at IS NULL DO NOTHING;
```
Write the predicate as a literal, not a bind parameter (see UPS007).
"""

    examples = (
        Invalid(
            SCHEMA,
            "INSERT INTO accounts (id, email) VALUES (1, 'a@x') ON CONFLICT (email) DO UPDATE SET id = EXCLUDED.id",
            **NO_ARBITER_ERRORS,
        ),
        Invalid(
            SCHEMA,
            "INSERT INTO accounts (id, email) VALUES (1, 'a@x') ON CONFLICT (email) WHERE email <> '' DO NOTHING",
            **NO_ARBITER_ERRORS,
            note="an unrelated predicate does not imply the index's",
        ),
        Valid(
            SCHEMA,
            "INSERT INTO accounts (id, email) VALUES (1, 'a@x') ON CONFLICT (email) WHERE deleted_at IS NULL DO NOTHING",
            dialects=("postgres", "sqlite"),
        ),
        Valid(
            SCHEMA,
            "INSERT INTO accounts (id, email) VALUES (1, 'a@x') "
            "ON CONFLICT (email) WHERE deleted_at IS NULL AND email <> '' DO UPDATE SET id = EXCLUDED.id",
            note="a stronger predicate implies the index's",
        ),
    )

    def check(self, site, table):
        conflict = site.statement.conflict
        if not has_column_target(conflict) or conflict.predicate_has_parameter:
            return  # a bound predicate is UPS007's finding
        inference = infer(conflict, table, site.dialect)
        if inference.arbiters or not inference.partial_misses:
            return
        name = sql_table_name(table, site.dialect)
        target = ", ".join(e.text for e in conflict.target)
        key = inference.partial_misses[0]
        given = f"its predicate `{conflict.index_predicate}` does not imply" if conflict.index_predicate else "it gives no predicate for"
        yield Violation(
            message=(
                f"ON CONFLICT ({target}) on {name} can only use the partial unique index {key.name} "
                f"(WHERE {key.predicate}), but {given} the index's WHERE clause (could not prove implication); "
                f"the database finds no arbiter and rejects the statement"
            ),
            fix="Repeat the index's predicate, as a literal, in the conflict target.",
            evidence=tuple(key_evidence(k) for k in inference.partial_misses),
            fix_code=f"ON CONFLICT ({target}) WHERE {key.predicate}",
        )
