"""UPS015: the conflict update reads a proposed value the INSERT never supplied."""

from auditor.evidence import sql_table_name, table_keys_evidence
from auditor.findings import Evidence, FixSafety
from auditor.model import Severity
from auditor.rulebook import Invalid, Rule, Valid, Violation
from auditor.sql.holes import COLUMNS, UPDATE

SCHEMA = "CREATE TABLE stats (k varchar(20) PRIMARY KEY, v int, n int NOT NULL DEFAULT 0);"
SETUP = "INSERT INTO stats (k, v, n) VALUES ('a', 1, 42)"
OBSERVE = "SELECT n FROM stats WHERE k = 'a'"
UPSERT = "INSERT INTO stats (k, v) VALUES ('a', 2) ON CONFLICT (k) DO UPDATE SET {}"
ODKU = "INSERT INTO stats (k, v) VALUES ('a', 2) ON DUPLICATE KEY UPDATE {}"
BOTH = ("postgres", "sqlite")


class ExcludedColumnNotInserted(Rule):
    id = "UPS015"
    name = "excluded-column-not-inserted"
    severity = Severity.WARNING
    fix_safety = FixSafety.UNSAFE
    dialects = ("postgres", "sqlite", "mysql")
    needs = frozenset({COLUMNS, UPDATE})
    claim = "overwrites"
    fails_at_planning = False  # it runs; the damage is in the data

    what = """
Checks `ON CONFLICT ... DO UPDATE` for `EXCLUDED.c` (and MySQL's `VALUES(c)` or row alias
`new.c` in `ON DUPLICATE KEY UPDATE`) where `c` is not in the INSERT's column list.
"""
    why = """
The proposed row holds a value for every column: the ones the INSERT lists, and the column
default for all the others. `SET n = EXCLUDED.n` for a column the INSERT leaves out therefore
overwrites the stored value with the default (a counter of 42 becomes 0, `created_at` becomes
now, an owner becomes NULL) every time the row already exists, without any error. This is the
usual result of a generated "set every column" update.
"""
    example = """
```sql
INSERT INTO stats (k, v) VALUES (%s, %s)
ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v, n = EXCLUDED.n;  -- n is reset to its default
```
"""
    use_instead = """
Update only the columns the INSERT supplies (or add the column to the INSERT):

```sql
INSERT INTO stats (k, v) VALUES (%s, %s)
ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v;
```
"""

    examples = (
        Invalid(SCHEMA, UPSERT.format("v = EXCLUDED.v, n = EXCLUDED.n"), setup=SETUP, observe=OBSERVE, dialects=BOTH),
        Invalid(SCHEMA, ODKU.format("v = VALUES(v), n = VALUES(n)"), setup=SETUP, observe=OBSERVE, dialects=("mysql",)),
        Valid(SCHEMA, UPSERT.format("v = EXCLUDED.v"), setup=SETUP, observe=OBSERVE, dialects=BOTH),
        Valid(SCHEMA, UPSERT.format("v = EXCLUDED.v + stats.n"), setup=SETUP, observe=OBSERVE, dialects=BOTH,
              note="the stored value of a column left out is fine to read"),
        Valid(SCHEMA, ODKU.format("v = VALUES(v)"), setup=SETUP, observe=OBSERVE, dialects=("mysql",)),
    )

    def check(self, site, table):
        statement = site.statement
        conflict = statement.conflict
        if conflict is None or not statement.columns:
            return
        missing = [c for c in conflict.proposed_columns if c not in statement.columns and c in table.columns]
        if not missing:
            return
        name = sql_table_name(table, site.dialect)
        read = "VALUES(c)" if conflict.values_function else f"{conflict.row_alias or 'EXCLUDED'}.c"
        yield Violation(
            message=(
                f"the conflict update reads {read} for {', '.join(missing)}, which the INSERT into {name} does not "
                f"supply: it overwrites the stored value with the column default every time the row exists"
            ),
            fix=f"Leave {', '.join(missing)} out of the update, or add {'it' if len(missing) == 1 else 'them'} to the INSERT's columns.",
            evidence=tuple(Evidence(f"column {c} {table.columns[c].type}", table.columns[c].origin) for c in missing)
            or table_keys_evidence(table),
        )
