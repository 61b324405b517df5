"""UPS102: update by key, insert when the update matched no row."""

from auditor.findings import FixSafety
from auditor.model import Severity
from auditor.races import USE_UPSERT_RECORD, key_list, race_evidence, race_outcome, race_severity, upsert_fix
from auditor.rulebook import IdiomRule, Invalid, Valid, Violation
from auditor.sites import IdiomKind

NO_KEY = "CREATE TABLE avatars (id serial PRIMARY KEY, user_id int NOT NULL, persona text);"
KEYED = "CREATE TABLE avatars (id serial PRIMARY KEY, user_id int NOT NULL UNIQUE, persona text);"

RAW = '''
import psycopg

def save(conn, user_id, persona):
    cur = conn.cursor()
    cur.execute("UPDATE avatars SET persona = %s WHERE user_id = %s", (persona, user_id))
    if cur.rowcount == 0:
        cur.execute("INSERT INTO avatars (user_id, persona) VALUES (%s, %s)", (user_id, persona))
'''

ASYNCPG = '''
import asyncpg

async def save(conn, user_id, persona):
    status = await conn.execute("UPDATE avatars SET persona = $1 WHERE user_id = $2", persona, user_id)
    if status == "UPDATE 0":
        await conn.execute("INSERT INTO avatars (user_id, persona) VALUES ($2, $1)", persona, user_id)
'''

DJANGO = '''
from django.db import models

class Avatar(models.Model):
    user_id = models.IntegerField()
    persona = models.TextField()

    class Meta:
        db_table = "avatars"

def save(user_id, persona):
    updated = Avatar.objects.filter(user_id=user_id).update(persona=persona)
    if not updated:
        Avatar.objects.create(user_id=user_id, persona=persona)
'''

UPDATE_ONLY = '''
import psycopg

def rename(conn, user_id, persona):
    cur = conn.cursor()
    cur.execute("UPDATE avatars SET persona = %s WHERE user_id = %s", (persona, user_id))
    if cur.rowcount == 0:
        raise LookupError(user_id)
'''


class UpdateThenInsert(IdiomRule):
    id = "UPS102"
    name = "update-then-insert"
    severity = Severity.WARNING
    fix_safety = FixSafety.SAFE  # `fix` rewrites it when both paths write the same values (auditor.fix.plan)
    dialects = ("postgres", "sqlite", "mysql")
    idioms = (IdiomKind.UPDATE_THEN_INSERT,)

    what = """
Checks code that updates a row by key and inserts the key when the update matched nothing
(`cur.rowcount == 0`, asyncpg's `"UPDATE 0"`, Django's `filter(...).update(...)` returning 0).
"""
    why = """
Two writers can both update nothing (the row does not exist yet) and both insert: duplicate
rows without a unique key, a unique violation for the second writer with one. On
MySQL/MariaDB it duplicates even without concurrency: with the driver's default flags an
UPDATE that sets the values a row already holds reports 0 affected rows, so the code inserts
a second copy (Django and SQLAlchemy set `CLIENT.FOUND_ROWS`; plain PyMySQL does not).

Where a unique key covers the lookup the table cannot hold duplicates, but the loser's insert
fails with a unique violation: still a warning, unless the insert sits in a `try` that catches
it (`IntegrityError`, `UniqueViolation`); then the finding is `info` (PostgreSQL, SQLite). On
MySQL/MariaDB it stays a warning: there the insert fails with 1062 without any race.
"""
    example = """
```python
cur.execute("UPDATE avatars SET persona = %s WHERE user_id = %s", (persona, user_id))
if cur.rowcount == 0:
    cur.execute("INSERT INTO avatars (user_id, persona) VALUES (%s, %s)", (user_id, persona))
```
"""
    use_instead = USE_UPSERT_RECORD

    examples = (
        Invalid(NO_KEY, "", python=RAW, dialects=("postgres",)),
        Invalid(KEYED, "", python=ASYNCPG, dialects=("postgres",)),
        Invalid("", "", python=DJANGO, dialects=("postgres", "sqlite")),
        Valid(NO_KEY, "", python=UPDATE_ONLY, dialects=("postgres",), note="no insert: a plain update"),
    )

    def check(self, site, table):
        key, outcome = race_outcome(site, table)
        mysql = (
            " On MySQL/MariaDB an update that changes nothing also reports 0 rows, so it duplicates without any concurrency."
            if site.dialect == "mysql" else ""
        )
        yield Violation(
            message=f"update-then-insert on {site.table.name} by {key_list(site.key_columns)}: {outcome}.{mysql}",
            fix=upsert_fix(site, table, key),
            evidence=race_evidence(key, table),
            # On MySQL the insert after an update that changed nothing fails with no race at all.
            severity=race_severity(site, key, table) if site.dialect != "mysql" else None,
        )
