"""UPS103: try the INSERT, UPDATE when it raises IntegrityError."""

from auditor.arbiter import covering_key
from auditor.evidence import sql_table_name
from auditor.findings import FixSafety
from auditor.model import Severity
from auditor.races import USE_UPSERT_RECORD, key_list, race_evidence, upsert_fix
from auditor.rulebook import IdiomRule, Invalid, Valid, Violation
from auditor.sites import IdiomKind

KEYED = "CREATE TABLE avatars (id serial PRIMARY KEY, user_id int NOT NULL UNIQUE, persona text);"

RAW = '''
import psycopg

def save(conn, user_id, persona):
    try:
        conn.execute("INSERT INTO avatars (user_id, persona) VALUES (%s, %s)", (user_id, persona))
    except psycopg.IntegrityError:
        conn.execute("UPDATE avatars SET persona = %s WHERE user_id = %s", (persona, user_id))
'''

SAVEPOINT = '''
import psycopg

def save(conn, user_id, persona):
    try:
        with conn.transaction():
            conn.execute("INSERT INTO avatars (user_id, persona) VALUES (%s, %s)", (user_id, persona))
    except psycopg.errors.UniqueViolation:
        conn.execute("UPDATE avatars SET persona = %s WHERE user_id = %s", (persona, user_id))
'''

LOGGED = '''
import psycopg

def save(conn, user_id, persona):
    try:
        conn.execute("INSERT INTO avatars (user_id, persona) VALUES (%s, %s)", (user_id, persona))
    except psycopg.IntegrityError:
        raise ValueError("taken")
'''


class InsertExceptIntegrityError(IdiomRule):
    id = "UPS103"
    name = "insert-except-integrity-error"
    severity = Severity.WARNING
    fix_safety = FixSafety.UNSAFE
    dialects = ("postgres", "sqlite", "mysql")
    idioms = (IdiomKind.INSERT_EXCEPT_INTEGRITY_ERROR,)

    what = """
Checks `try: INSERT ... except IntegrityError: UPDATE ...` (any driver's IntegrityError or
UniqueViolation, Django/SQLAlchemy ORM calls included).
"""
    why = """
On PostgreSQL a failed statement aborts the whole transaction: unless the INSERT ran in its
own savepoint, the UPDATE in the handler fails with `25P02 current transaction is aborted`
(SQLite and MySQL do not abort, so tests there pass and the code ships broken). The handler
also catches foreign-key, NOT NULL and CHECK violations and "updates" anyway, and the row can
be deleted between the failed INSERT and the UPDATE. Without a unique key on the lookup the
INSERT never fails on a duplicate at all: every save adds a row.
"""
    example = """
```python
try:
    conn.execute("INSERT INTO avatars (user_id, persona) VALUES (%s, %s)", (user_id, persona))
except psycopg.IntegrityError:
    conn.execute("UPDATE avatars SET persona = %s WHERE user_id = %s", (persona, user_id))
```
"""
    use_instead = USE_UPSERT_RECORD

    examples = (
        Invalid(KEYED, "", python=RAW, dialects=("postgres", "sqlite"), note="PostgreSQL: the UPDATE fails with 25P02"),
        Invalid(KEYED, "", python=SAVEPOINT, dialects=("postgres",), note="a savepoint: runs, still racy"),
        Valid(KEYED, "", python=LOGGED, dialects=("postgres",), note="the handler does not update: not an upsert"),
    )

    def check(self, site, table):
        key = covering_key(table, site.key_columns, site.case_folded)
        name = sql_table_name(table, site.dialect)
        problems = []
        if key is None:
            problems.append(
                f"no unique key of {name} covers {key_list(site.key_columns)}, so the INSERT never fails on a duplicate: "
                f"every save adds a row and the UPDATE never runs"
            )
        elif site.dialect == "postgres" and not site.call.savepoint:
            problems.append(
                "inside a transaction the UPDATE fails with 25P02 (current transaction is aborted): the INSERT has no savepoint"
            )
        else:
            problems.append("a writer that deletes the row between the failed INSERT and the UPDATE leaves nothing saved")
        if not site.call.narrow_except:
            problems.append("the handler also catches foreign-key, NOT NULL and CHECK violations and updates anyway")
        yield Violation(
            message=f"insert-except-IntegrityError on {site.table.name} by {key_list(site.key_columns)}: " + "; ".join(problems),
            fix=upsert_fix(site, table, key),
            evidence=race_evidence(key, table),
        )
