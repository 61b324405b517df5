"""UPS006: a column-list target or DO UPDATE aimed at an exclusion constraint (PostgreSQL)."""

from auditor.arbiter import has_column_target, infer
from auditor.evidence import key_evidence, sql_table_name
from auditor.findings import FixSafety
from auditor.model import KeyKind, Severity
from auditor.rulebook import Invalid, Rule, Valid, Violation
from auditor.sites import ConflictAction
from auditor.sql.holes import TABLE, TARGET

SCHEMA = """
CREATE TABLE bookings (
    id int PRIMARY KEY,
    room int NOT NULL,
    during tsrange NOT NULL,
    CONSTRAINT bookings_no_overlap EXCLUDE USING gist (during WITH &&)
);
"""
ROW = "INSERT INTO bookings (id, room, during) VALUES (1, 101, '[2026-01-01 10:00, 2026-01-01 11:00)')"


class ExclusionConstraintTarget(Rule):
    id = "UPS006"
    name = "exclusion-constraint-target"
    severity = Severity.ERROR
    fix_safety = FixSafety.NONE
    dialects = ("postgres",)
    needs = frozenset({TABLE, TARGET})

    what = """
Checks upserts aimed at an exclusion constraint (`EXCLUDE USING gist (...)`): either a
column-list target over its columns, or `ON CONSTRAINT <exclusion>` with `DO UPDATE`.
"""
    why = """
Exclusion constraints are never inferred from a column list, not even for `DO NOTHING`:
PostgreSQL raises `42P10 there is no unique or exclusion constraint matching the ON CONFLICT
specification`. Naming the constraint works only with `DO NOTHING`; with `DO UPDATE` PostgreSQL
raises `42809 ON CONFLICT DO UPDATE not supported with exclusion constraints`.
"""
    example = """
```sql
INSERT INTO bookings (id, room, during) VALUES (...) ON CONFLICT (during) DO NOTHING;
```
"""
    use_instead = """
```sql
INSERT INTO bookings (id, room, during) VALUES (...) ON CONFLICT ON CONSTRAINT bookings_no_overlap DO NOTHING;
```
There is no upsert (DO UPDATE) over an exclusion constraint: decide in the application what an
overlapping row should change.
"""

    examples = (
        Invalid(SCHEMA, ROW + " ON CONFLICT (during) DO NOTHING", sqlstate="42P10",
                postgres_message="there is no unique or exclusion constraint matching the ON CONFLICT specification"),
        Invalid(SCHEMA, ROW + " ON CONFLICT ON CONSTRAINT bookings_no_overlap DO UPDATE SET room = EXCLUDED.room", sqlstate="42809",
                postgres_message="ON CONFLICT DO UPDATE not supported with exclusion constraints"),
        Valid(SCHEMA, ROW + " ON CONFLICT ON CONSTRAINT bookings_no_overlap DO NOTHING"),
        Valid(SCHEMA, ROW + " ON CONFLICT DO NOTHING", note="a targetless DO NOTHING reaches exclusion constraints"),
    )

    def check(self, site, table):
        conflict = site.statement.conflict
        if conflict is None:
            return
        name = sql_table_name(table, site.dialect)
        if has_column_target(conflict):
            inference = infer(conflict, table, site.dialect)
            if inference.arbiters or not inference.exclusion_misses:
                return
            key = inference.exclusion_misses[0]
            yield Violation(
                message=(
                    f"ON CONFLICT ({', '.join(e.text for e in conflict.target)}) on {name} aims at the exclusion "
                    f"constraint {key.name}, which a column list can never infer; PostgreSQL rejects the statement (42P10)"
                ),
                fix="Name the constraint, with DO NOTHING only.",
                evidence=(key_evidence(key),),
                fix_code=f"ON CONFLICT ON CONSTRAINT {key.name} DO NOTHING",
            )
        elif conflict.constraint and conflict.action is ConflictAction.UPDATE:
            key = table.key_named(conflict.constraint)
            if key is not None and key.kind is KeyKind.EXCLUSION:
                yield Violation(
                    message=(
                        f"ON CONSTRAINT {key.name} is an exclusion constraint of {name}; PostgreSQL does not support "
                        f"DO UPDATE with exclusion constraints (42809)"
                    ),
                    fix="Use DO NOTHING, or decide in the application what an overlapping row should change.",
                    evidence=(key_evidence(key),),
                    fix_code=f"ON CONFLICT ON CONSTRAINT {key.name} DO NOTHING",
                )
