"""UPS101: read a row by key, insert it when the read found nothing."""

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
    with conn.cursor() as cur:
        cur.execute("SELECT id FROM avatars WHERE user_id = %s", (user_id,))
        if cur.fetchone() is None:
            cur.execute("INSERT INTO avatars (user_id, persona) VALUES (%s, %s)", (user_id, persona))
        else:
            cur.execute("UPDATE avatars SET persona = %s WHERE user_id = %s", (persona, user_id))
'''

DJANGO = '''
from django.db import models

class Avatar(models.Model):
    user_id = models.IntegerField()
    persona = models.TextField()

    class Meta:
        db_table = "avatars"

def save(user_id, persona):
    if not Avatar.objects.filter(user_id=user_id).exists():
        Avatar.objects.create(user_id=user_id, persona=persona)
'''

SQLALCHEMY = '''
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

class Base(DeclarativeBase):
    pass

class Avatar(Base):
    __tablename__ = "avatars"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int]
    persona: Mapped[str]

def save(session, user_id, persona):
    avatar = session.query(Avatar).filter_by(user_id=user_id).one_or_none()
    if avatar:
        avatar.persona = persona
        return avatar
    session.add(Avatar(user_id=user_id, persona=persona))
'''

UPSERT = '''
import psycopg

def save(conn, user_id, persona):
    conn.execute(
        "INSERT INTO avatars (user_id, persona) VALUES (%s, %s) "
        "ON CONFLICT (user_id) DO UPDATE SET persona = EXCLUDED.persona",
        (user_id, persona),
    )
'''

AUDIT_LOG = '''
import psycopg

def save(conn, user_id, persona):
    row = conn.execute("SELECT id FROM avatars WHERE user_id = %s", (user_id,)).fetchone()
    if row is None:
        conn.execute("INSERT INTO audit_log (user_id, event) VALUES (%s, 'missing avatar')", (user_id,))
'''


class CheckThenInsert(IdiomRule):
    id = "UPS101"
    name = "check-then-insert"
    severity = Severity.WARNING
    fix_safety = FixSafety.SAFE  # `fix` rewrites it when both paths write the same values (auditor.fix.plan)
    dialects = ("postgres", "sqlite", "mysql")
    idioms = (IdiomKind.CHECK_THEN_INSERT,)

    what = """
Checks code that reads a row by key (a raw `SELECT ... WHERE k = ...`, Django
`filter(...).exists()` / `.first()` / `get()` in `try/except DoesNotExist`, SQLAlchemy
`query(...).filter_by(...).first()` / `one_or_none()` / `session.scalar(select(...))`, a
lookup by primary key: `Model.query.get(k)`, `session.get(Model, k)`) and inserts that key
when the read found nothing. The session may be called `session`, `db` or `request.db`. A
SQLAlchemy relationship collection checked before it is appended to (`if tag not in
post.tags: post.tags.append(tag)`) is one too: the append inserts a row of the `secondary`
association table; so is Django's `if not hasattr(checkout, "metadata"):` before creating
that one-to-one row (the accessor raises when the row does not exist: a lookup by the
parent's key). Lookup and insert may be functions of the project's data layer, here or in
another module (`if not await get_tag(name): await create_tag(name)`): each is read one
level deep.
"""
    why = """
Between the read and the insert another writer can insert the same key: both see nothing,
both insert. Without a unique key the table now holds two rows for the key, and every later
"get the row" finds two (Django raises `MultipleObjectsReturned`). With a unique key the
second writer's insert fails with a unique violation the code does not expect. Locks do not
help: `SELECT ... FOR UPDATE` locks nothing when no row exists yet.

Where a unique key covers the lookup the table cannot hold duplicates, but the loser's insert
fails with a unique violation the caller sees: still a warning. Where the insert sits in a
`try` that catches that violation (`IntegrityError`, `UniqueViolation`, oslo.db's `DBDuplicateEntry`) the race is handled
(for a SQLAlchemy session, only where the handler also rolls the session back or the insert
ran in `begin_nested()`: otherwise the session keeps its failed transaction and its next use
raises `PendingRollbackError`): the finding is then `info` (one atomic upsert avoids even the exception), and fails nothing at
the default `fail-on = "warning"`. So is a race in a migration file (a data migration runs once,
in one migrate process: there is no second writer), as for every rule that claims a race.
"""
    example = """
```python
cur.execute("SELECT id FROM avatars WHERE user_id = %s", (user_id,))
if cur.fetchone() is None:
    cur.execute("INSERT INTO avatars (user_id, persona) VALUES (%s, %s)", (user_id, persona))
else:
    cur.execute("UPDATE avatars SET persona = %s WHERE user_id = %s", (persona, user_id))
```
"""
    use_instead = USE_UPSERT_RECORD

    examples = (
        Invalid(NO_KEY, "", python=RAW, dialects=("postgres",), note="no key: two writers leave two rows"),
        Invalid(KEYED, "", python=RAW, dialects=("postgres",), note="a key: the second writer gets 23505, uncaught"),
        Invalid("", "", python=DJANGO, dialects=("postgres", "sqlite")),
        Invalid("", "", python=SQLALCHEMY, dialects=("postgres",), note="`if row: return` then insert"),
        Valid(KEYED, "", python=UPSERT, dialects=("postgres",)),
        Valid(NO_KEY + " CREATE TABLE audit_log (id serial PRIMARY KEY, user_id int, event text);", "", python=AUDIT_LOG, dialects=("postgres",),
              note="the insert goes to another table: not an upsert"),
    )

    def check(self, site, table):
        key, outcome = race_outcome(site, table)
        yield Violation(
            message=f"check-then-insert on {site.table.name} by {key_list(site.key_columns)}: {outcome}",
            fix=upsert_fix(site, table, key),
            evidence=race_evidence(key, table),
            severity=race_severity(site, key, table),
        )
