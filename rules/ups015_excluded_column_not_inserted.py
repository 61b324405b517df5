"""UPS015: the conflict update reads a proposed value the INSERT never supplied."""

from auditor.evidence import sql_table_name, table_keys_evidence
from auditor.findings import Evidence, FixSafety
from auditor.model import Severity
from auditor.rulebook import Invalid, Rule, Valid, Violation
from auditor.sql.holes import COLUMNS, UPDATE

SCHEMA = "CREATE TABLE stats (k varchar(20) PRIMARY KEY, v int, n int);"
# The same column with a default: EXCLUDED.n resets it on purpose ("reset to default", "touch").
DEFAULTED = SCHEMA.replace("n int", "n int NOT NULL DEFAULT 0")
TOUCHED = "CREATE TABLE stats (k varchar(20) PRIMARY KEY, v int, n int, seen timestamp DEFAULT CURRENT_TIMESTAMP);"
SETUP = "INSERT INTO stats (k, v, n) VALUES ('a', 1, 42)"
OBSERVE = "SELECT n IS NULL FROM stats WHERE k = 'a'"  # the stored value lost to NULL
SEEN = "SELECT seen IS NULL FROM stats WHERE k = 'a'"
UPSERT = "INSERT INTO stats (k, v) VALUES ('a', 2) ON CONFLICT (k) DO UPDATE SET {}"
ODKU = "INSERT INTO stats (k, v) VALUES ('a', 2) ON DUPLICATE KEY UPDATE {}"
BOTH = ("postgres", "sqlite")


SERIAL_TYPES = ("SERIAL", "BIGSERIAL", "SMALLSERIAL")  # PostgreSQL's nextval() default, spelled as a type


def has_default(column) -> bool:
    if column.type.upper() in SERIAL_TYPES:
        return True
    return column.default is not None and column.default.strip().upper() != "NULL"


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
`new.c` in `ON DUPLICATE KEY UPDATE`) where `c` is not in the INSERT's column list and has no
default in the schema. A column with a default (`now()`, `CURRENT_TIMESTAMP`, a constant) is
the deliberate "reset to default" / "touch" idiom (`SET updated_at = EXCLUDED.updated_at`)
and is not reported. Defaults are read from SQL DDL and a live PostgreSQL; a default that only
an ORM model declares (`server_default=`, `db_default=`) is not known yet.
"""
    why = """
The proposed row holds a value for every column: the ones the INSERT lists, and the column
default for all the others, which is NULL where the column has none. `SET n = EXCLUDED.n` for
such a column therefore overwrites the stored value with NULL (a counter of 42, an owner, a
note are lost) every time the row already exists, without any error. This is the usual
result of a generated "set every column" update.
"""
    example = """
```sql
-- stats: k PRIMARY KEY, v int, n int (no default)
INSERT INTO stats (k, v) VALUES (%s, %s)
ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v, n = EXCLUDED.n;  -- n becomes NULL
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
        Valid(DEFAULTED, UPSERT.format("v = EXCLUDED.v, n = EXCLUDED.n"), setup=SETUP, observe=OBSERVE, dialects=BOTH,
              note="n has a default: the update resets it to 0 on purpose, nothing becomes NULL"),
        Valid(DEFAULTED, ODKU.format("v = VALUES(v), n = VALUES(n)"), setup=SETUP, observe=OBSERVE, dialects=("mysql",)),
        Valid(TOUCHED, UPSERT.format("v = EXCLUDED.v, seen = EXCLUDED.seen"), setup=SETUP,
              observe=SEEN, dialects=BOTH, note="the touch idiom: seen is set to the current time"),
        Valid(TOUCHED, ODKU.format("v = VALUES(v), seen = VALUES(seen)"), setup=SETUP, observe=SEEN, dialects=("mysql",)),
    )

    def check(self, site, table):
        statement = site.statement
        conflict = statement.conflict
        if conflict is None or not statement.columns:
            return
        missing = [
            c for c in conflict.proposed_columns
            if c not in statement.columns and c in table.columns and not has_default(table.columns[c])
        ]
        if not missing:
            return
        name = sql_table_name(table, site.dialect)
        read = "VALUES(c)" if conflict.values_function else f"{conflict.row_alias or 'EXCLUDED'}.c"
        yield Violation(
            message=(
                f"the conflict update reads {read} for {', '.join(missing)}, which the INSERT into {name} does not "
                f"supply and that has no default: it overwrites the stored value with NULL every time the row exists"
            ),
            fix=f"Leave {', '.join(missing)} out of the update, or add {'it' if len(missing) == 1 else 'them'} to the INSERT's columns (or give the column the default the update means).",
            evidence=tuple(Evidence(f"column {c} {table.columns[c].type}", table.columns[c].origin) for c in missing)
            or table_keys_evidence(table),
        )
