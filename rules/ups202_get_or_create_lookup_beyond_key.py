"""UPS202: get_or_create whose lookup holds a unique key and more: the create hits the key."""

from auditor.arbiter import covering_key
from auditor.evidence import key_evidence, sql_table_name
from auditor.findings import FixSafety
from auditor.model import Severity
from auditor.orm_fields import lookup_columns
from auditor.races import key_list
from auditor.rulebook import IdiomRule, Invalid, Valid, Violation
from auditor.sites import IdiomKind

ROLE_MODELS = '''
from django.db import models

class Role(models.Model):
    name = models.CharField(max_length=50, unique=True)
    locked = models.BooleanField(default=False)
    description = models.TextField(default="")

    class Meta:
        db_table = "roles"
'''

KEY_AND_MORE = ROLE_MODELS + '''
def ensure_locked(name):
    return Role.objects.get_or_create(name=name, locked=True)
'''

KEY_AND_DEFAULTS = ROLE_MODELS + '''
def ensure_locked(name):
    return Role.objects.update_or_create(name=name, defaults={"locked": True})
'''

KEY_ALONE = ROLE_MODELS + '''
def ensure(name, description):
    return Role.objects.get_or_create(name=name, defaults={"description": description})
'''


class GetOrCreateLookupBeyondKey(IdiomRule):
    id = "UPS202"
    name = "get-or-create-lookup-beyond-key"
    # Info: whether a row can exist with the key and other values depends on the data (an
    # idempotency key looked up with its payload fails on purpose when the payload differs);
    # as a warning it was wrong on 5 of 7 labelled sites of the corpus and added 226
    # unlabelled warnings.
    severity = Severity.INFO
    fix_safety = FixSafety.UNSAFE
    dialects = ("postgres", "sqlite", "mysql")
    idioms = (IdiomKind.GET_OR_CREATE,)
    claim = "fails"

    what = """
Checks Django `get_or_create` / `update_or_create` and peewee `get_or_create` whose lookup
holds a whole unique key of the table and other fields besides (`get_or_create(name=n,
locked=True)` with `name` unique).
"""
    why = """
The lookup finds the row only when every field matches. A row with that key whose other
fields differ (a role of that name that is not locked, an auto-sync record pointing at an old
file) is not found, so the method INSERTs, and the insert hits the unique key: Django (and
peewee) catch the IntegrityError, look again with the same lookup, find nothing and raise it.
Not a race: it fails every time the row exists with other values. Reported as info: where
the other fields always follow from the key, or where the failure is meant (an idempotency key
looked up with its payload, to refuse a reuse with another payload), it never misfires.
"""
    example = """
```python
Role.objects.get_or_create(name=name, locked=True)  # roles.name is unique
```
"""
    use_instead = """
Look the row up by its key alone, and give the other fields as `defaults` (or
`update_or_create` where they should change on an existing row):

```python
Role.objects.update_or_create(name=name, defaults={"locked": True})
```
"""

    examples = (
        Invalid("", "", python=KEY_AND_MORE, dialects=("postgres", "sqlite", "mysql"),
                sqlstate="23505", postgres_message='duplicate key value violates unique constraint "roles_name_key"',
                sqlite_code="SQLITE_CONSTRAINT_UNIQUE", sqlite_error="UNIQUE constraint failed: roles.name",
                mysql_error=1062, mysql_message="Duplicate entry '…' for key 'name'",  # … is the role's name
                # Django's own call raises these: tests/runtime/test_orm_lookup_beyond_key.py
                note="a role of that name exists, unlocked: Django's call raises IntegrityError"),
        Valid("", "", python=KEY_AND_DEFAULTS, dialects=("postgres", "sqlite"), note="the other field is a default: looked up by the key alone"),
        Valid("", "", python=KEY_ALONE, dialects=("postgres",)),
    )

    def check(self, site, table):
        if site.inexact_lookup:
            return
        known, unknown = lookup_columns(site.key_columns, table)
        if unknown:
            return  # which column a field is, the schema does not say
        key = covering_key(table, known)
        if key is None or key.element_set == set(known):
            return  # no key in the lookup (UPS201's case), or exactly a key
        extra = tuple(c for c in known if c not in key.element_set)
        name = sql_table_name(table, site.dialect)
        yield Violation(
            message=(
                f"get_or_create() on {name} looks up {key_list(known)}, which holds the {key.describe()} and also "
                f"{key_list(extra)}: a row with that key and other values there is not found, so the insert hits the key "
                f"and the call raises IntegrityError every time"
            ),
            fix=f"Look up by {key_list(tuple(e.text for e in key.elements))} alone and pass {', '.join(extra)} in defaults (update_or_create if they should change).",
            evidence=(key_evidence(key),),
        )
