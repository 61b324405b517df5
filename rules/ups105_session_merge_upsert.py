"""UPS105: SQLAlchemy Session.merge() used to save-or-update."""

from dataclasses import replace

from auditor.evidence import key_evidence, sql_table_name
from auditor.findings import FixSafety
from auditor.model import KeyKind, Severity
from auditor.races import key_list, upsert_fix
from auditor.rulebook import IdiomRule, Invalid, Valid, Violation
from auditor.sites import IdiomKind

KEYED = "CREATE TABLE avatars (id serial PRIMARY KEY, user_id int NOT NULL UNIQUE, persona text);"
TAGS = "CREATE TABLE tags (name text PRIMARY KEY, note text);"

MODELS = '''
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

class Base(DeclarativeBase):
    pass

class Avatar(Base):
    __tablename__ = "avatars"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(unique=True)
    persona: Mapped[str]

class Tag(Base):
    __tablename__ = "tags"
    name: Mapped[str] = mapped_column(primary_key=True)
    note: Mapped[str]
'''

NO_PK = MODELS + '''
def save(session, user_id, persona):
    session.merge(Avatar(user_id=user_id, persona=persona))
'''

OTHER_KEY = MODELS + '''
def save(session, avatar_id, user_id, persona):
    avatar = Avatar(id=avatar_id, user_id=user_id, persona=persona)
    session.merge(avatar)
'''

BY_PK = MODELS + '''
def save(session, name, note):
    session.merge(Tag(name=name, note=note))
'''


class SessionMergeUpsert(IdiomRule):
    id = "UPS105"
    name = "session-merge-upsert"
    severity = Severity.WARNING
    fix_safety = FixSafety.UNSAFE
    dialects = ("postgres", "sqlite", "mysql")
    idioms = (IdiomKind.SESSION_MERGE,)

    what = """
Checks `session.merge(Model(...))` used to save-or-update a row when the object carries no
primary key, or when its table has another unique key the row can hit.
"""
    why = """
`merge()` looks the row up by primary key only (a SELECT), then inserts if none was found.
An object without its primary key is always inserted: with a unique key on another column
the second save fails with IntegrityError, without one it duplicates. An object with its
primary key still collides on the other unique keys, and two concurrent merges race like
check-then-insert.
"""
    example = """
```python
session.merge(Avatar(user_id=user_id, persona=persona))   # no id: always an INSERT
```
"""
    use_instead = """
The dialect's atomic upsert on the key you mean:

```python
upsert_record(session, Avatar, {"user_id": user_id, "persona": persona}, conflict=["user_id"])
```
"""

    examples = (
        Invalid(KEYED, "", python=NO_PK, dialects=("postgres", "sqlite")),
        Invalid(KEYED, "", python=OTHER_KEY, dialects=("postgres",)),
        Valid(TAGS, "", python=BY_PK, dialects=("postgres",), note="the primary key is the only key, and it is set"),
    )

    def check(self, site, table):
        written = set(site.insert.columns)
        if not written:
            return  # the object's fields are not known
        primary = next((k for k in table.unique_keys if k.kind is KeyKind.PRIMARY), None)
        others = [k for k in table.unique_keys if k is not primary and k.valid and not k.has_expression and k.column_set <= written]
        has_pk = primary is not None and primary.column_set <= written
        if has_pk and not others:
            return
        name = sql_table_name(table, site.dialect)
        if not has_pk:
            what = "the object has no primary key, so merge() never finds a row and always INSERTs"
        else:
            what = "merge() finds rows by primary key only"
        if others:
            outcome = f"a second save with the same {key_list(tuple(e.text for e in others[0].elements))} fails with IntegrityError on the {others[0].describe()}"
        else:
            outcome = "every save adds a row"
        conflict = others[0] if others else None
        yield Violation(
            message=f"session.merge() on {name}: {what}; {outcome}",
            fix=upsert_fix(replace(site, key_columns=site.insert.columns), table, conflict),
            evidence=tuple(key_evidence(k) for k in ([primary] if primary else []) + others),
        )
