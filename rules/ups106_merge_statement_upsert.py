"""UPS106: SQL MERGE used as an upsert."""

from auditor.arbiter import covering_key
from auditor.evidence import key_evidence, sql_table_name, table_keys_evidence
from auditor.findings import FixSafety
from auditor.model import Severity
from auditor.races import key_list
from auditor.rulebook import Invalid, Rule, Valid, Violation
from auditor.sites import WriteKind

KEYED = "CREATE TABLE avatars (id serial PRIMARY KEY, user_id int NOT NULL UNIQUE, persona text);"

MERGE = (
    "MERGE INTO avatars a USING (SELECT 7 AS user_id, 'owl' AS persona) s ON a.user_id = s.user_id "
    "WHEN MATCHED THEN UPDATE SET persona = s.persona "
    "WHEN NOT MATCHED THEN INSERT (user_id, persona) VALUES (s.user_id, s.persona)"
)
MERGE_DELETE = (
    "MERGE INTO avatars a USING (SELECT 7 AS user_id) s ON a.user_id = s.user_id "
    "WHEN MATCHED THEN DELETE"
)


class MergeStatementUpsert(Rule):
    id = "UPS106"
    name = "merge-statement-upsert"
    severity = Severity.WARNING
    fix_safety = FixSafety.UNSAFE
    dialects = ("postgres",)
    claim = "races"
    fails_at_planning = False

    what = """
Checks `MERGE INTO ... WHEN NOT MATCHED THEN INSERT` (PostgreSQL 15+) used as an upsert.
"""
    why = """
MERGE decides "matched or not" from its snapshot and does not wait for a concurrent insert
of the same key: two MERGEs of a new key both take the NOT MATCHED branch. With a unique key
the second fails with `23505` under READ COMMITTED (`40001` under REPEATABLE READ);
without one both insert. PostgreSQL's documentation points to `INSERT ... ON CONFLICT`,
which does take the UPDATE branch when a concurrent insert wins.
"""
    example = """
```sql
MERGE INTO avatars a USING (SELECT %s AS user_id, %s AS persona) s ON a.user_id = s.user_id
WHEN MATCHED THEN UPDATE SET persona = s.persona
WHEN NOT MATCHED THEN INSERT (user_id, persona) VALUES (s.user_id, s.persona);
```
"""
    use_instead = """
```sql
INSERT INTO avatars (user_id, persona) VALUES (%s, %s)
ON CONFLICT (user_id) DO UPDATE SET persona = EXCLUDED.persona;
```
"""

    examples = (
        Invalid(KEYED, MERGE, note="two sessions at once: the second fails with 23505 (tests/runtime/test_race_idioms.py)"),
        Valid(KEYED, MERGE_DELETE, note="no INSERT branch: not an upsert"),
    )

    def check(self, site, table):
        statement = site.statement
        if statement.kind is not WriteKind.MERGE or not statement.merge_inserts:
            return
        name = sql_table_name(table, site.dialect)
        key = covering_key(table, statement.merge_key)
        if key is None:
            outcome = f"no unique key of {name} covers {key_list(statement.merge_key)}, so two concurrent MERGEs both insert"
        else:
            outcome = f"two concurrent MERGEs of a new key both insert and the second fails with 23505 on the {key.describe()}"
        target = f" ({', '.join(e.text for e in key.elements)})" if key else ""
        yield Violation(
            message=f"MERGE used as an upsert on {name}: {outcome}",
            fix=f"Use INSERT ... ON CONFLICT{target} DO UPDATE, which waits for a concurrent insert and then updates."
            + ("" if key else " Add the unique key first (`upsert-audit migrate`)."),
            evidence=(key_evidence(key),) if key else table_keys_evidence(table),
        )
