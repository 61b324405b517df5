"""UPS009: SQLite `INSERT ... SELECT ... FROM t ON CONFLICT` without a WHERE."""

from auditor.evidence import sql_table_name
from auditor.findings import Evidence, FixSafety
from auditor.model import Severity
from auditor.rulebook import Invalid, Rule, Valid, Violation
from auditor.sql.holes import TARGET, VALUES

SCHEMA = """
CREATE TABLE totals (day text PRIMARY KEY, n int NOT NULL);
CREATE TABLE staging (day text, n int);
"""
UPSERT = "INSERT INTO totals (day, n) SELECT day, n FROM staging{tail} ON CONFLICT (day) DO UPDATE SET n = excluded.n"


class SqliteInsertSelectAmbiguity(Rule):
    id = "UPS009"
    name = "sqlite-insert-select-ambiguity"
    severity = Severity.ERROR
    fix_safety = FixSafety.SAFE
    dialects = ("sqlite",)
    needs = frozenset({VALUES, TARGET})

    what = """
Checks SQLite upserts whose rows come from `SELECT ... FROM ...` with nothing after the FROM
clause (no WHERE, GROUP BY, ORDER BY or LIMIT) before `ON CONFLICT`.
"""
    why = """
SQLite's parser reads the `ON` of `ON CONFLICT` as the start of a join constraint of the last
table in FROM, and rejects the statement every time: `near "DO": syntax error`. SQLite's own
documentation calls this a parsing ambiguity and says to add a WHERE clause, even `WHERE true`.
"""
    example = """
```sql
INSERT INTO totals (day, n) SELECT day, n FROM staging
ON CONFLICT (day) DO UPDATE SET n = excluded.n;
```
"""
    use_instead = """
```sql
INSERT INTO totals (day, n) SELECT day, n FROM staging WHERE true
ON CONFLICT (day) DO UPDATE SET n = excluded.n;
```
"""

    examples = (
        Invalid(SCHEMA, UPSERT.format(tail=""), dialects=("sqlite",), sqlite_code="SQLITE_ERROR", sqlite_error='near "DO": syntax error'),
        Valid(SCHEMA, UPSERT.format(tail=" WHERE true"), dialects=("sqlite", "postgres")),
        Valid(SCHEMA, UPSERT.format(tail=" ORDER BY day"), dialects=("sqlite",), note="any clause after FROM ends the ambiguity"),
        Valid(SCHEMA, "INSERT INTO totals (day, n) SELECT '2026-01-01', 1 ON CONFLICT (day) DO NOTHING", dialects=("sqlite",),
              note="no FROM, no ambiguity"),
    )

    def check(self, site, table):
        statement = site.statement
        if statement.conflict is None or not statement.select_ends_in_from:
            return
        yield Violation(
            message=(
                f"SQLite reads the ON of ON CONFLICT after `SELECT ... FROM` as a join constraint: this upsert into "
                f"{sql_table_name(table, site.dialect)} fails every time with a syntax error"
            ),
            fix="Add `WHERE true` (or any WHERE) after the FROM clause of the SELECT.",
            fix_code="... FROM <source> WHERE true ON CONFLICT ...",
            evidence=(Evidence(f"table {table.name} (SQLite)", table.origin),),
        )
