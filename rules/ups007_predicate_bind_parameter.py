"""UPS007: a bind parameter inside the ON CONFLICT index predicate."""

from auditor.arbiter import NO_ARBITER_ERRORS, has_column_target
from auditor.evidence import key_evidence, sql_table_name, table_keys_evidence
from auditor.findings import FixSafety
from auditor.model import Severity
from auditor.rulebook import Invalid, Rule, Valid, Violation
from auditor.sql.holes import TARGET

SCHEMA = """
CREATE TABLE subscriptions (id int PRIMARY KEY, email text NOT NULL, status text NOT NULL);
CREATE UNIQUE INDEX subscriptions_active_email ON subscriptions (email) WHERE status = 'active';
"""
UPSERT = "INSERT INTO subscriptions (id, email, status) VALUES (%s, %s, 'active') ON CONFLICT (email) WHERE status = {} DO NOTHING"


class PredicateBindParameter(Rule):
    id = "UPS007"
    name = "predicate-bind-parameter"
    severity = Severity.ERROR
    fix_safety = FixSafety.SAFE
    dialects = ("postgres", "sqlite")
    needs = frozenset({TARGET})
    fails_at_planning = False  # PostgreSQL plans it fine with the values of one call

    what = """
Checks for a bind parameter (`%s`, `$1`, `:name`, `?`) inside the index predicate of
`ON CONFLICT (...) WHERE <predicate>`.
"""
    why = """
The predicate is how the database proves that a partial unique index can arbitrate, and it
has to prove it when it plans the statement. SQLite rejects the statement on every call
(`ON CONFLICT clause does not match any PRIMARY KEY or UNIQUE constraint`). PostgreSQL
accepts it while it plans each call with its values, then switches a prepared statement to a
generic plan (psycopg 3 from the 11th call, asyncpg and `PREPARE` from the 6th) and from then
on rejects it with `42P10`: the code passes its tests and breaks in production.
"""
    example = """
```sql
-- UNIQUE INDEX ... (email) WHERE status = 'active'
INSERT INTO subscriptions (id, email, status) VALUES (%s, %s, 'active')
ON CONFLICT (email) WHERE status = %s DO NOTHING;
```
"""
    use_instead = """
Write the partial index's predicate as literal SQL:

```sql
INSERT INTO subscriptions (id, email, status) VALUES (%s, %s, 'active')
ON CONFLICT (email) WHERE status = 'active' DO NOTHING;
```
"""

    examples = (
        Invalid(SCHEMA, UPSERT.format("%s"), params=(1, "a@example.com", "active"), **NO_ARBITER_ERRORS,
                note="run prepared ten times: PostgreSQL fails once it uses a generic plan, SQLite at once"),
        Valid(SCHEMA, UPSERT.format("'active'"), params=(1, "a@example.com"), dialects=("postgres", "sqlite")),
    )

    def check(self, site, table):
        conflict = site.statement.conflict
        if not has_column_target(conflict) or not conflict.predicate_has_parameter:
            return
        name = sql_table_name(table, site.dialect)
        partial = [k for k in table.unique_keys if k.predicate and k.element_set == conflict.target_set]
        literal = f" WHERE {partial[0].predicate}" if len(partial) == 1 else " WHERE <the index's predicate>"
        target = ", ".join(e.text for e in conflict.target)
        yield Violation(
            message=(
                f"ON CONFLICT ({target}) WHERE {conflict.index_predicate} on {name} binds a parameter in the index "
                f"predicate: SQLite rejects it on every call, PostgreSQL once a prepared statement switches to a "
                f"generic plan (42P10)"
            ),
            fix=f"Write the partial index's predicate as literal SQL: ON CONFLICT ({target}){literal}.",
            evidence=tuple(key_evidence(k) for k in partial) or table_keys_evidence(table),
            fix_code=f"ON CONFLICT ({target}){literal}",
        )
