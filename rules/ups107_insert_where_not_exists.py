"""UPS107: INSERT ... SELECT ... WHERE NOT EXISTS (SELECT 1 FROM the same table ...) without a unique key."""

from auditor.arbiter import covering_key
from auditor.evidence import sql_table_name, table_keys_evidence
from auditor.findings import FixSafety
from auditor.model import Severity
from auditor.races import key_list
from auditor.rulebook import Invalid, Rule, Valid, Violation
from auditor.sites import WriteKind
from auditor.sql.holes import COLUMNS, TABLE, VALUES

SCHEMA = "CREATE TABLE tags (id int PRIMARY KEY, name varchar(50) NOT NULL, note varchar(50));"
KEYED = SCHEMA.replace("name varchar(50) NOT NULL", "name varchar(50) NOT NULL UNIQUE")
INSERT = "INSERT INTO tags (id, name, note) SELECT 2, 'owl', 'x' {}WHERE NOT EXISTS (SELECT 1 FROM tags WHERE {})"
# Nominatim's shape: the SELECT in parentheses, the value an alias of the outer query
DERIVED = ("INSERT INTO tags (id, name, note) (SELECT 2, token, 'x' FROM (SELECT 'o' || 'wl' AS token) y "
           "WHERE NOT EXISTS (SELECT 1 FROM tags WHERE name = token))")
RACY = ("postgres", "mysql")


class InsertWhereNotExists(Rule):
    id = "UPS107"
    name = "insert-where-not-exists"
    severity = Severity.WARNING
    fix_safety = FixSafety.MIGRATION
    dialects = RACY  # SQLite runs one writer at a time: the statement cannot race there
    needs = frozenset({TABLE, COLUMNS, VALUES})
    claim = "races"
    fails_at_planning = False

    what = """
Checks `INSERT INTO t (...) SELECT ... WHERE NOT EXISTS (SELECT 1 FROM t WHERE k = ...)` where
no unique key of `t` covers the columns the NOT EXISTS compares. With such a key the statement
is not reported (a racing writer gets the key's unique violation, never a second row), nor when
it has an ON CONFLICT clause.
"""
    why = """
It looks atomic but is a check-then-insert in one statement: the NOT EXISTS reads a snapshot.
Under READ COMMITTED (PostgreSQL's default, and MariaDB/MySQL as Django sets it) two writers
that run it at once both see no row and both insert: the table keeps duplicates. Under
MariaDB's REPEATABLE READ the gap locks of the SELECT leave one row, and the losers wait or
fail (1467 in the race test). Nothing but a unique
key makes the database refuse the second row.
"""
    example = """
```sql
INSERT INTO tags (name, note) SELECT %s, %s
WHERE NOT EXISTS (SELECT 1 FROM tags WHERE name = %s);  -- no unique key on tags.name
```
"""
    use_instead = """
Add the unique key (after removing the duplicates already there) and let the database decide:

```sql
INSERT INTO tags (name, note) VALUES (%s, %s) ON CONFLICT (name) DO NOTHING;
```
"""

    examples = (
        Invalid(SCHEMA, INSERT.format("", "name = 'owl'"), dialects=("postgres",)),
        Invalid(SCHEMA, INSERT.format("FROM DUAL ", "name = 'owl'"), dialects=("mysql",)),
        Invalid(SCHEMA, DERIVED, dialects=("postgres",)),
        Valid(KEYED, DERIVED, dialects=("postgres",)),
        Valid(KEYED, INSERT.format("", "name = 'owl'"), dialects=("postgres",),
              note="the unique key on name: a racing writer gets 23505, never a second row"),
        Valid(KEYED, INSERT.format("FROM DUAL ", "name = 'owl'"), dialects=("mysql",)),
        Valid(SCHEMA, INSERT.format("", "name = 'owl'"), dialects=("sqlite",),
              note="SQLite: one writer at a time, the statement is atomic there"),
    )

    def check(self, site, table):
        statement = site.statement
        key = statement.not_exists_key
        if statement.kind is not WriteKind.INSERT or statement.conflict is not None or not key:
            return
        if statement.columns and not set(key) <= set(statement.columns):
            return  # the check is not on what the row inserts: not this idiom
        if covering_key(table, key) is not None:
            return
        name = sql_table_name(table, site.dialect)
        yield Violation(
            message=(
                f"INSERT ... WHERE NOT EXISTS on {name} checks {key_list(key)}, which no unique key covers: the check "
                f"and the insert are one statement but not atomic, so under READ COMMITTED two writers at once both "
                f"insert and the table keeps duplicate rows"
            ),
            fix=(
                f"Add a unique key on {key_list(key)} to {name} (after removing the duplicates already there), then "
                f"write INSERT ... ON CONFLICT ({', '.join(key)}) DO NOTHING."
            ),
            evidence=table_keys_evidence(table),
        )
