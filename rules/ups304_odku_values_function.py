"""UPS304: VALUES(col) and the row alias in ON DUPLICATE KEY UPDATE: each works on only one of MySQL and MariaDB."""

from auditor.evidence import sql_table_name, table_keys_evidence
from auditor.findings import FixSafety
from auditor.model import Severity
from auditor.rulebook import Invalid, Rule, Valid, Violation
from auditor.sites import ConflictAction
from auditor.sql.holes import UPDATE

SCHEMA = "CREATE TABLE stats (k varchar(20) PRIMARY KEY, n int NOT NULL);"
SETUP = "INSERT INTO stats (k, n) VALUES ('a', 1)"


ROW_ALIAS_ERROR = ("You have an error in your SQL syntax; check the manual that corresponds to your MariaDB server version "
                   "for the right syntax to use near 'AS new ON DUPLICATE KEY UPDATE n = stats.n + new.n' at line 1")

class OdkuValuesFunction(Rule):
    id = "UPS304"
    name = "odku-values-function"
    severity = Severity.INFO
    fix_safety = FixSafety.UNSAFE
    dialects = ("mysql",)
    needs = frozenset({UPDATE})

    what = """
Checks how `ON DUPLICATE KEY UPDATE` reads the proposed row: with `VALUES(col)` (deprecated
since MySQL 8.0.20) or with the row alias `INSERT ... VALUES (...) AS new ... new.col`
(MySQL 8.0.19+ only).
"""
    why = """
The two servers went separate ways. MySQL 8.0.20 deprecates `VALUES(col)` in this clause
(warning 1287, to be removed), and recommends a row alias; MariaDB does not accept the row
alias at all (`1064 You have an error in your SQL syntax`) and keeps `VALUES()`/`VALUE()`.
Code that follows one server's advice breaks on the other, and the choice must be made per
deployment. (The MariaDB side is checked by the tests on this machine; MySQL's deprecation
is documented in its manual and WL#13325.)
"""
    example = """
```sql
INSERT INTO stats (k, n) VALUES (%s, %s) AS new
ON DUPLICATE KEY UPDATE n = stats.n + new.n;  -- MariaDB: syntax error
```
"""
    use_instead = """
On MariaDB, or to run on both: `ON DUPLICATE KEY UPDATE n = stats.n + VALUES(n)`. On MySQL
8.0.20+ only: the row alias. SQLAlchemy picks the right form from the server it connects to.
"""

    examples = (
        Invalid(SCHEMA, "INSERT INTO stats (k, n) VALUES ('a', 2) AS new ON DUPLICATE KEY UPDATE n = stats.n + new.n",
                setup=SETUP, dialects=("mysql",), mysql_error=1064, mysql_message=ROW_ALIAS_ERROR, note="MariaDB rejects MySQL's row alias"),
        Invalid(SCHEMA, "INSERT INTO stats (k, n) VALUES ('a', 2) ON DUPLICATE KEY UPDATE n = stats.n + VALUES(n)",
                setup=SETUP, dialects=("mysql",), claim="unchecked",
                note="MariaDB runs it (the form to keep there); the deprecation is MySQL 8.0.20's"),
        Valid(SCHEMA, "INSERT INTO stats (k, n) VALUES ('a', 2) ON DUPLICATE KEY UPDATE n = stats.n + 1", setup=SETUP,
              dialects=("mysql",), note="reads only the stored row"),
    )

    def check(self, site, table):
        conflict = site.statement.conflict
        if conflict is None or conflict.action is not ConflictAction.DUPLICATE_KEY_UPDATE:
            return
        name = sql_table_name(table, site.dialect)
        if conflict.row_alias:
            yield Violation(
                message=(
                    f"ON DUPLICATE KEY UPDATE on {name} reads the row alias {conflict.row_alias}: MySQL 8.0.19+ accepts "
                    f"it, MariaDB rejects the statement (1064)"
                ),
                fix="If this code runs on MariaDB, read the proposed values with VALUES(col) instead of the alias.",
                evidence=table_keys_evidence(table),
            )
        elif conflict.values_function:
            yield Violation(
                message=(
                    f"ON DUPLICATE KEY UPDATE on {name} reads VALUES(col): deprecated since MySQL 8.0.20 (warning "
                    f"1287), still the only form MariaDB accepts"
                ),
                fix="Keep VALUES() for MariaDB; on MySQL 8.0.20+ only, switch to a row alias "
                "(INSERT ... VALUES (...) AS new ON DUPLICATE KEY UPDATE c = new.c).",
                evidence=table_keys_evidence(table),
            )
