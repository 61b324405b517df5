"""UPS902: SQL the audit could not resolve to a constant or could not parse (coverage)."""

from auditor.findings import Evidence, FixSafety
from auditor.model import Severity
from auditor.rulebook import Invalid, Rule, Valid, Violation
from auditor.sites import SiteStatus

SCHEMA = "CREATE TABLE events (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text);"


class UnparsedSql(Rule):
    id = "UPS902"
    name = "unparsed-sql"
    severity = Severity.INFO
    fix_safety = FixSafety.NONE
    dialects = ("postgres", "sqlite", "mysql")
    statuses = (SiteStatus.UNRESOLVED, SiteStatus.UNPARSED)
    claim = "unchecked"

    what = """
Reports an execute-like call whose SQL the audit could not check: the SQL is built at run
time from values it cannot fold (function arguments, loops, unknown helpers), or it is
constant text that the SQL parser does not understand.
"""
    why = """
An audit that drops what it could not read overstates what it checked. Each such call is
listed with the reason, and counted in the summary, so you know where the audit is blind.
"""
    example = """
```python
def save(cur, table, row):
    cur.execute(f"INSERT INTO {table} ...")  # the table is a run-time value
```
"""
    use_instead = """
Keep SQL in module-level constants or literal strings where you can, declare your own
wrappers as `sinks` in `[tool.upsert-audit]`, or ignore the rule where dynamic SQL is meant.
"""

    examples = (
        Invalid(SCHEMA, "INSERT INTO events (id, name) OVERRIDING SYSTEM VALUE VALUES (7, 'x')",
                note="valid PostgreSQL the SQL parser does not read"),
        Valid(SCHEMA, "INSERT INTO events (name) VALUES ('x')"),
    )

    def check(self, site, table):
        what = "built at run time" if site.status is SiteStatus.UNRESOLVED else "not parsed"
        yield Violation(
            message=f"the SQL of this {site.call.api}() call was {what} ({site.detail}), so it was not checked",
            fix="Use a constant SQL string, declare the wrapper as a sink, or ignore UPS902 here if the SQL is dynamic by design.",
            evidence=(Evidence(site.detail or what),),
        )
