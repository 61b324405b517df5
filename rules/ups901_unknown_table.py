"""UPS901: a write site whose table the schema catalog does not know (coverage)."""

from auditor.findings import Evidence, FixSafety
from auditor.model import Severity
from auditor.rulebook import Invalid, Rule, Valid, Violation
from auditor.sites import SiteStatus
from auditor.sql.holes import TABLE

SCHEMA = "CREATE TABLE users (id int PRIMARY KEY, email varchar(100) NOT NULL UNIQUE);"
UNKNOWN = {
    "sqlstate": "42P01", "postgres_message": 'relation "audit_log" does not exist',
    "sqlite_code": "SQLITE_ERROR", "sqlite_error": "no such table: audit_log",
    "mysql_error": 1146, "mysql_message": "Table '….audit_log' doesn't exist",  # … is the test's own database
}


class UnknownTable(Rule):
    id = "UPS901"
    name = "unknown-table"
    severity = Severity.INFO
    fix_safety = FixSafety.NONE
    dialects = ("postgres", "sqlite", "mysql")
    needs = frozenset({TABLE})
    statuses = (SiteStatus.UNKNOWN_TABLE,)

    what = """
Reports a write whose table none of the schema sources define (SQL files, migrations, models,
or the live database), so no other rule could check it.
"""
    why = """
Every other rule compares a statement with the table's real keys and columns. Without the
table they cannot say anything, and silence would read as "checked and fine". The table may
live in a schema file the tool was not pointed at, be created by code it cannot read, or
belong to another service's database.
"""
    example = """
```python
cur.execute("INSERT INTO audit_log (user_id, action) VALUES (%s, %s)")  # audit_log: no schema source
```
"""
    use_instead = """
Point the audit at the schema that defines the table (`schema = [...]` in
`[tool.upsert-audit]`, or `--database-url` for a live database), or ignore the rule for
tables you do not own.
"""

    examples = (
        Invalid(SCHEMA, "INSERT INTO audit_log (id) VALUES (1)", dialects=("postgres", "sqlite", "mysql"), **UNKNOWN,
                note="a database built from the same schema does not know it either"),
        Valid(SCHEMA, "INSERT INTO users (id, email) VALUES (1, 'a@example.com')", dialects=("postgres", "sqlite", "mysql")),
    )

    def check(self, site, table):
        name = site.statement.table
        yield Violation(
            message=f"table {name} is not in the schema the audit read, so this write was not checked",
            fix="Add the schema source that defines it (`schema` in [tool.upsert-audit], or --database-url).",
            evidence=(Evidence(f"no schema source defines {name}"),),
        )
