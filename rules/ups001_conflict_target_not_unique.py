"""UPS001: the ON CONFLICT target matches no unique key (the avatar incident)."""

from auditor.arbiter import NO_ARBITER_ERRORS, has_column_target, hittable_keys, infer, intended_key
from auditor.evidence import sql_table_name, table_keys_evidence
from auditor.findings import FixSafety
from auditor.key_names import new_key_name
from auditor.model import Severity
from auditor.rulebook import Invalid, Rule, Valid, Violation
from auditor.sites import ConflictAction
from auditor.sql.holes import COLUMNS, TABLE, TARGET

INCIDENT_SCHEMA = """
CREATE TABLE avatar_configurations (
    id serial PRIMARY KEY,
    user_id int NOT NULL,
    persona text,
    updated_at timestamptz
);
"""
COMPOSITE_SCHEMA = """
CREATE TABLE members (
    id int PRIMARY KEY,
    tenant_id int NOT NULL,
    email text NOT NULL,
    name text,
    UNIQUE (tenant_id, email)
);
"""
MYSQL_SCHEMA = """
CREATE TABLE avatar_configurations (
    id int AUTO_INCREMENT PRIMARY KEY,
    user_id int NOT NULL,
    persona varchar(50),
    updated_at datetime
);
"""
ODKU = "INSERT INTO avatar_configurations (user_id, persona) VALUES (1, 'x') ON DUPLICATE KEY UPDATE persona = VALUES(persona)"
INCLUDE_SCHEMA = "CREATE TABLE counters (k text NOT NULL, n int, CONSTRAINT counters_k_key UNIQUE (k) INCLUDE (n));"


class ConflictTargetNotUnique(Rule):
    id = "UPS001"
    name = "conflict-target-not-unique"
    severity = Severity.ERROR
    fix_safety = FixSafety.MIGRATION
    dialects = ("postgres", "sqlite", "mysql")
    needs = frozenset({TABLE, TARGET})

    what = """
Checks that the columns (or expressions) named in `INSERT ... ON CONFLICT (...)` are exactly
the key of a primary key, unique constraint or unique index of the table. Order does not
matter; a subset or a superset of a composite key does not match, and INCLUDE columns are
not part of a key. On MySQL/MariaDB, which take no conflict target, checks that the columns
an `INSERT ... ON DUPLICATE KEY UPDATE` writes contain every column of some unique key.
"""
    why = """
The database picks the conflict arbiter by inference, and when no unique key matches the
target exactly it refuses the statement every time it runs: PostgreSQL raises `42P10 there is
no unique or exclusion constraint matching the ON CONFLICT specification`, SQLite raises
`ON CONFLICT clause does not match any PRIMARY KEY or UNIQUE constraint`. Every save through
this statement fails in production, however it behaved against a test schema that had the key.
MySQL and MariaDB fail silently instead: `ON DUPLICATE KEY UPDATE` fires only on a duplicate in
a unique key, so when the row it writes covers none, every call inserts another row.
"""
    example = """
```sql
-- avatar_configurations has no unique key on user_id
INSERT INTO avatar_configurations (user_id, persona) VALUES (%s, %s)
ON CONFLICT (user_id) DO UPDATE SET persona = EXCLUDED.persona;
```
"""
    use_instead = """
Add the key the code relies on (`upsert-audit migrate` writes this migration for you), in a
migration that first removes duplicate rows (keeping the most recent one), then builds the
index without blocking writes:

```sql
CREATE UNIQUE INDEX CONCURRENTLY avatar_configurations_user_id_key
    ON avatar_configurations (user_id);
ALTER TABLE avatar_configurations
    ADD CONSTRAINT avatar_configurations_user_id_key UNIQUE USING INDEX avatar_configurations_user_id_key;
```

or target a key the table already has.
"""

    examples = (
        Invalid(
            INCIDENT_SCHEMA,
            "INSERT INTO avatar_configurations (user_id, persona) VALUES (1, 'x') "
            "ON CONFLICT (user_id) DO UPDATE SET persona = EXCLUDED.persona",
            **NO_ARBITER_ERRORS,
            note="the incident",
        ),
        Invalid(
            COMPOSITE_SCHEMA,
            "INSERT INTO members (id, tenant_id, email) VALUES (1, 1, 'a@x') ON CONFLICT (email) DO NOTHING",
            **NO_ARBITER_ERRORS,
            note="a subset of a composite key",
        ),
        Invalid(
            COMPOSITE_SCHEMA,
            "INSERT INTO members (id, tenant_id, email, name) VALUES (1, 1, 'a@x', 'A') "
            "ON CONFLICT (tenant_id, email, name) DO UPDATE SET name = EXCLUDED.name",
            **NO_ARBITER_ERRORS,
            note="a superset of a composite key",
        ),
        Invalid(
            INCLUDE_SCHEMA,
            "INSERT INTO counters (k, n) VALUES ('a', 1) ON CONFLICT (k, n) DO UPDATE SET n = EXCLUDED.n",
            sqlstate="42P10",
            postgres_message=NO_ARBITER_ERRORS["postgres_message"],
            note="INCLUDE columns are not key columns",
        ),
        Invalid(MYSQL_SCHEMA, ODKU, dialects=("mysql",), claim="duplicates",
                note="the incident on MariaDB: no error, a new row every call"),
        Valid(MYSQL_SCHEMA.replace("user_id int NOT NULL", "user_id int NOT NULL UNIQUE"), ODKU, dialects=("mysql",),
              claim="duplicates"),
        Valid(
            INCIDENT_SCHEMA.replace("user_id int NOT NULL", "user_id int NOT NULL UNIQUE"),
            "INSERT INTO avatar_configurations (user_id, persona) VALUES (1, 'x') "
            "ON CONFLICT (user_id) DO UPDATE SET persona = EXCLUDED.persona",
            dialects=("postgres", "sqlite"),
            note="the incident, fixed",
        ),
        Valid(
            COMPOSITE_SCHEMA,
            "INSERT INTO members (id, tenant_id, email) VALUES (1, 1, 'a@x') "
            "ON CONFLICT (email, tenant_id) DO UPDATE SET name = EXCLUDED.name",
            dialects=("postgres", "sqlite"),
            note="column order does not matter",
        ),
        Valid(
            COMPOSITE_SCHEMA,
            "INSERT INTO members (id, tenant_id, email) VALUES (1, 1, 'a@x') ON CONFLICT (tenant_id, email, tenant_id) DO NOTHING",
            note="repeated columns are allowed",
        ),
        Valid(
            INCLUDE_SCHEMA,
            "INSERT INTO counters (k, n) VALUES ('a', 1) ON CONFLICT (k) DO UPDATE SET n = counters.n + 1",
            note="the key column alone matches a key with INCLUDE columns",
        ),
    )

    def check(self, site, table):
        conflict = site.statement.conflict
        if conflict is not None and conflict.action is ConflictAction.DUPLICATE_KEY_UPDATE:
            yield from self.check_duplicate_key_update(site, table)
            return
        if not has_column_target(conflict):
            return
        inference = infer(conflict, table, site.dialect)
        if inference.arbiters or inference.explained_miss:
            return
        name = sql_table_name(table, site.dialect)
        target = ", ".join(e.text for e in conflict.target)
        near = "; ".join(k.describe() for k in inference.related)
        near = f"keys on these columns: {near}" if near else "the table has no key on these columns"
        key_name = new_key_name(table.name.name, [c for e in conflict.target for c in e.columns], site.dialect)
        if site.dialect == "postgres":
            sql = (
                f"CREATE UNIQUE INDEX CONCURRENTLY {key_name} ON {name} ({target});\n"
                f"ALTER TABLE {name} ADD CONSTRAINT {key_name} UNIQUE USING INDEX {key_name};"
            )
        else:
            sql = f"CREATE UNIQUE INDEX {key_name} ON {name} ({target});"
        yield Violation(
            message=(
                f"ON CONFLICT ({target}) matches no primary key, unique constraint or unique index of {name} "
                f"({near}); the database rejects this statement every time it runs"
            ),
            fix=(
                f"Add a unique key on {name} ({target}): `upsert-audit migrate` writes the migration that first "
                f"archives duplicate rows (keeping the most recent), then builds the key as below; or change the "
                f"target to an existing key."
            ),
            evidence=table_keys_evidence(table),
            fix_code=sql,
        )

    def check_duplicate_key_update(self, site, table):
        statement = site.statement
        if COLUMNS in statement.unknown or not statement.columns or hittable_keys(statement, table):
            return
        name = sql_table_name(table, site.dialect)
        meant = intended_key(statement)
        written = ", ".join(statement.columns)
        if meant:
            key = ", ".join(meant)
            key_name = new_key_name(table.name.name, meant, site.dialect)
            fix = (f"Add a unique key on {name} ({key}), the columns this statement inserts but does not update: "
                   f"`upsert-audit migrate` writes the migration that first archives duplicate rows (keeping the most recent).")
            fix_code = f"ALTER TABLE {name} ADD CONSTRAINT {key_name} UNIQUE ({key});"
        else:
            fix = f"Add a unique key on the columns that identify a row of {name}, and insert them."
            fix_code = None
        yield Violation(
            message=(
                f"ON DUPLICATE KEY UPDATE on {name} writes ({written}), which contain no complete primary or unique key: "
                f"the update never fires and every call inserts another row"
            ),
            fix=fix,
            evidence=table_keys_evidence(table),
            fix_code=fix_code,
        )
