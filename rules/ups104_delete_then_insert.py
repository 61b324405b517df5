"""UPS104: delete the row by key, then insert it again, as an upsert."""

from auditor.findings import FixSafety
from auditor.model import Severity
from auditor.races import USE_UPSERT_RECORD, key_list, race_evidence, race_outcome, upsert_fix
from auditor.rulebook import IdiomRule, Invalid, Valid, Violation
from auditor.sites import IdiomKind

NO_KEY = "CREATE TABLE avatars (id serial PRIMARY KEY, user_id int NOT NULL, persona text);"

RAW = '''
import sqlite3

def save(conn, user_id, persona):
    conn.execute("DELETE FROM avatars WHERE user_id = ?", (user_id,))
    conn.execute("INSERT INTO avatars (user_id, persona) VALUES (?, ?)", (user_id, persona))
    conn.commit()
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
    session.query(Avatar).filter_by(user_id=user_id).delete()
    session.add(Avatar(user_id=user_id, persona=persona))
'''

OTHER_KEY = '''
import sqlite3

def reset(conn, user_id, persona):
    conn.execute("DELETE FROM avatars WHERE persona = ?", (persona,))
    conn.execute("INSERT INTO avatars (user_id) VALUES (?)", (user_id,))
'''


class DeleteThenInsert(IdiomRule):
    id = "UPS104"
    name = "delete-then-insert"
    severity = Severity.WARNING
    fix_safety = FixSafety.UNSAFE
    dialects = ("postgres", "sqlite", "mysql")
    idioms = (IdiomKind.DELETE_THEN_INSERT,)

    what = """
Checks code that deletes the rows of a key and then inserts that key again, as a way to
"replace" a row.
"""
    why = """
It is a delete: the row gets a new id, columns the insert does not name fall back to their
defaults, rows in other tables that reference it cascade away or block the delete, and
DELETE triggers fire. Under concurrency two writers both delete (nothing, or each other's
row) and both insert: duplicates without a unique key, a unique violation or a serialization
failure with one.
"""
    example = """
```python
conn.execute("DELETE FROM avatars WHERE user_id = ?", (user_id,))
conn.execute("INSERT INTO avatars (user_id, persona) VALUES (?, ?)", (user_id, persona))
```
"""
    use_instead = USE_UPSERT_RECORD

    examples = (
        Invalid(NO_KEY.replace("serial", "integer"), "", python=RAW, dialects=("sqlite",)),
        Invalid(NO_KEY, "", python=SQLALCHEMY, dialects=("postgres",)),
        Valid(NO_KEY.replace("serial", "integer"), "", python=OTHER_KEY, dialects=("sqlite",), note="the insert does not write the deleted key"),
    )

    def check(self, site, table):
        key, outcome = race_outcome(site, table)
        yield Violation(
            message=(
                f"delete-then-insert on {site.table.name} by {key_list(site.key_columns)}: the row is replaced, not updated "
                f"(new id, unnamed columns reset, references cascade); and {outcome}"
            ),
            fix=upsert_fix(site, table, key),
            evidence=race_evidence(key, table),
        )
