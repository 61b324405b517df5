"""UPS011: one multi-row upsert whose rows repeat a conflict key (PostgreSQL 21000)."""

from auditor.arbiter import has_column_target, infer
from auditor.evidence import key_evidence, sql_table_name
from auditor.findings import FixSafety
from auditor.model import Severity
from auditor.rulebook import Invalid, Rule, Valid, Violation
from auditor.sites import ConflictAction
from auditor.sql.holes import COLUMNS, TARGET, VALUES

SCHEMA = "CREATE TABLE stock (sku text PRIMARY KEY, qty int NOT NULL);"


class DuplicateKeysInBatch(Rule):
    id = "UPS011"
    name = "duplicate-keys-in-batch"
    severity = Severity.ERROR
    fix_safety = FixSafety.UNSAFE
    dialects = ("postgres",)
    needs = frozenset({TARGET, COLUMNS, VALUES})
    fails_at_planning = False  # 21000 comes from the executor, when it meets the second row

    what = """
Checks multi-row `INSERT ... VALUES (...), (...) ON CONFLICT ... DO UPDATE` statements whose
rows give the same literal value to every column of the arbiter key.
"""
    why = """
PostgreSQL updates each existing row at most once per statement; when two proposed rows hit
the same key it aborts the whole statement: `21000 ON CONFLICT DO UPDATE command cannot affect
row a second time`. SQLite and MariaDB instead apply the rows one after another and silently
keep the last, so the same batch behaves differently per database.
"""
    example = """
```sql
INSERT INTO stock (sku, qty) VALUES ('A-1', 5), ('A-1', 7)
ON CONFLICT (sku) DO UPDATE SET qty = EXCLUDED.qty;
```
"""
    use_instead = """
Merge the batch by key before sending it (for example a dict keyed by the key columns, keeping
the value you want), so each key appears once per statement.
"""

    examples = (
        Invalid(SCHEMA, "INSERT INTO stock (sku, qty) VALUES ('A-1', 5), ('B-2', 1), ('A-1', 7) ON CONFLICT (sku) DO UPDATE SET qty = EXCLUDED.qty",
                sqlstate="21000", postgres_message="ON CONFLICT DO UPDATE command cannot affect row a second time"),
        Valid(SCHEMA, "INSERT INTO stock (sku, qty) VALUES ('A-1', 5), ('B-2', 7) ON CONFLICT (sku) DO UPDATE SET qty = EXCLUDED.qty",
              dialects=("postgres", "sqlite")),
        Valid(SCHEMA, "INSERT INTO stock (sku, qty) VALUES ('A-1', 5), ('A-1', 7) ON CONFLICT (sku) DO UPDATE SET qty = EXCLUDED.qty",
              dialects=("sqlite",), note="SQLite applies the rows in turn and keeps the last"),
        Valid(SCHEMA, "INSERT INTO stock (sku, qty) VALUES ('A-1', 5), ('A-1', 7) ON CONFLICT (sku) DO NOTHING",
              note="DO NOTHING skips the second row without an error"),
    )

    def check(self, site, table):
        statement = site.statement
        conflict = statement.conflict
        if not has_column_target(conflict) or conflict.action is not ConflictAction.UPDATE or len(statement.literal_rows) < 2:
            return
        for key in infer(conflict, table, site.dialect).arbiters:
            columns = [e.text for e in key.elements]
            if any(e.is_expression for e in key.elements) or any(c not in statement.columns for c in columns):
                continue
            seen: dict[tuple, int] = {}
            for number, row in enumerate(zip(*(statement.literal_values(c) for c in columns)), start=1):
                if None in row:
                    continue  # a bind parameter or NULL: unknown, or never equal
                if row in seen:
                    name = sql_table_name(table, site.dialect)
                    values = ", ".join(row)
                    yield Violation(
                        message=(
                            f"rows {seen[row]} and {number} of this upsert into {name} both have key ({', '.join(columns)}) = ({values}); "
                            f"PostgreSQL aborts the statement (21000) instead of updating twice"
                        ),
                        fix="Send each key once per statement: merge the rows by key before building the batch.",
                        evidence=(key_evidence(key),),
                    )
                    return
                seen[row] = number
