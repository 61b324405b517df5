"""UPS010: the conflict key has a nullable column and NULLs are distinct: the upsert duplicates."""

from auditor.arbiter import has_column_target, infer, predicate_conjuncts
from auditor.evidence import key_evidence, sql_table_name
from auditor.findings import Evidence, FixSafety
from auditor.model import Severity
from auditor.rulebook import Invalid, Rule, Valid, Violation
from auditor.sites import ConflictAction
from auditor.sql.holes import COLUMNS, TABLE, TARGET

SCHEMA = "CREATE TABLE prefs (tenant_id int, key text NOT NULL, value text, UNIQUE (tenant_id, key));"
UPSERT = (
    "INSERT INTO prefs (tenant_id, key, value) VALUES ({tenant}, 'theme', 'dark') "
    "ON CONFLICT (tenant_id, key) DO UPDATE SET value = EXCLUDED.value"
)
SKIP = "INSERT INTO prefs (tenant_id, key, value) VALUES (NULL, 'theme', 'dark') ON CONFLICT (tenant_id, key) DO NOTHING"


def _null_rows_keyed(table, key, nullable: list[str], dialect: str) -> bool:
    """A partial unique index over the key's other columns WHERE the nullable ones are NULL
    (what `migrate` writes on SQLite): rows with NULL there cannot be duplicated any more."""
    rest = key.element_set - set(nullable)
    wanted = predicate_conjuncts(" AND ".join(f"{c} IS NULL" for c in dict.fromkeys(nullable)), dialect)
    return bool(rest) and any(
        k.predicate and k.element_set == rest and predicate_conjuncts(k.predicate, dialect) == wanted for k in table.unique_keys
    )


class NullableConflictKey(Rule):
    id = "UPS010"
    name = "nullable-conflict-key"
    severity = Severity.WARNING
    fix_safety = FixSafety.MIGRATION
    dialects = ("postgres", "sqlite")
    needs = frozenset({TABLE, TARGET, COLUMNS})  # an unknown value is like a bind parameter: it may be NULL
    claim = "duplicates"
    fails_at_planning = False  # nothing fails: rows are silently duplicated

    what = """
Checks upserts whose arbiter key has a nullable column, when the key treats NULLs as
distinct (the default everywhere; PostgreSQL 15+ offers `NULLS NOT DISTINCT`). A column the
statement sets to a non-NULL literal is fine; a bind parameter may be NULL at run time.
"""
    why = """
A unique key never considers two rows with a NULL in a key column equal, so an upsert whose
key value contains NULL never conflicts: every call inserts a new row. The statement runs
without any error and the table silently fills with duplicates, which later break code that
expects one row (`MultipleObjectsReturned`, `.one()`, dict-building loops).
"""
    example = """
```sql
-- UNIQUE (tenant_id, key) with tenant_id nullable
INSERT INTO prefs (tenant_id, key, value) VALUES (NULL, 'theme', 'dark')
ON CONFLICT (tenant_id, key) DO UPDATE SET value = EXCLUDED.value;  -- inserts again every time
```
"""
    use_instead = """
Make the key columns `NOT NULL` (backfill a sentinel first), or on PostgreSQL 15+ declare
the key `UNIQUE NULLS NOT DISTINCT (tenant_id, key)` so NULL matches NULL. On SQLite and older
PostgreSQL, a partial unique index over the NULL rows (`... (key) WHERE tenant_id IS NULL`)
targeted by a separate upsert does the same.
"""

    examples = (
        Invalid(SCHEMA, UPSERT.format(tenant="NULL"), dialects=("postgres", "sqlite"), note="a NULL key value never conflicts"),
        Invalid(SCHEMA, SKIP, dialects=("postgres", "sqlite"), note="DO NOTHING: the duplicate is inserted instead of skipped"),
        Valid(SCHEMA.replace("tenant_id int,", "tenant_id int NOT NULL,"), UPSERT.format(tenant="1"), dialects=("postgres", "sqlite")),
        Valid(SCHEMA, UPSERT.format(tenant="1"), dialects=("postgres", "sqlite"), note="the statement's own literal is not NULL"),
        Valid(
            SCHEMA.replace("UNIQUE (tenant_id, key)", "UNIQUE NULLS NOT DISTINCT (tenant_id, key)"),
            UPSERT.format(tenant="NULL"),
            note="PostgreSQL 15+: NULL matches NULL",
        ),
        Valid(
            SCHEMA + " CREATE UNIQUE INDEX prefs_tenant_id_key_nnd_key ON prefs (tenant_id, key) NULLS NOT DISTINCT;",
            UPSERT.format(tenant="NULL"),
            note="what `upsert-audit migrate` adds beside the old key: both are arbiters, and this one conflicts on NULL",
        ),
    )

    def check(self, site, table):
        conflict = site.statement.conflict
        if not has_column_target(conflict) or conflict.action is ConflictAction.DUPLICATE_KEY_UPDATE:
            return
        arbiters = infer(conflict, table, site.dialect).arbiters
        if any(k.nulls_not_distinct for k in arbiters):
            return  # that key makes NULL keys conflict: the upsert updates them
        for key in arbiters:
            literal = set(site.statement.non_null_literal_columns)
            nullable = [
                c for e in key.elements for c in e.columns
                if (column := table.columns.get(c)) is not None and column.nullable and c not in literal
            ]
            if not nullable or _null_rows_keyed(table, key, nullable, site.dialect):
                continue
            name = sql_table_name(table, site.dialect)
            columns = ", ".join(dict.fromkeys(nullable))
            # DO NOTHING means "skip the duplicate": say that it is inserted instead of skipped.
            instead = "skipping it" if conflict.action is ConflictAction.NOTHING else "updating"
            fix = (
                f"Make {columns} NOT NULL (after a backfill), or declare the key UNIQUE NULLS NOT DISTINCT (PostgreSQL 15+)."
                if site.dialect == "postgres"
                else f"Make {columns} NOT NULL (after a backfill), or add a partial unique index for the rows where it is NULL."
            )
            yield Violation(
                message=(
                    f"the conflict key {key.describe()} of {name} has nullable column(s) {columns}: a row whose key holds NULL "
                    f"never conflicts, so this upsert inserts a duplicate every time instead of {instead}"
                ),
                fix=fix,
                evidence=(key_evidence(key),) + tuple(
                    Evidence(f"column {c} is nullable", table.columns[c].origin) for c in dict.fromkeys(nullable)
                ),
            )
            return
