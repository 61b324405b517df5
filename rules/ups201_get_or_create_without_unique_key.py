"""UPS201: get_or_create / update_or_create on a lookup no unique key backs."""

from auditor.arbiter import covering_key
from auditor.evidence import sql_table_name, table_keys_evidence
from auditor.findings import FixSafety
from auditor.model import Severity
from auditor.orm_fields import lookup_columns
from auditor.python.neutral_sql import PEEWEE_CLASS
from auditor.races import key_list
from auditor.rulebook import IdiomRule, Invalid, Valid, Violation
from auditor.sites import IdiomKind

DJANGO_MODELS = '''
from django.db import models

class Avatar(models.Model):
    account_id = models.IntegerField()
    email = models.TextField(unique=True)
    persona = models.TextField()

    class Meta:
        db_table = "avatars"
'''

NOT_UNIQUE = DJANGO_MODELS + '''
def save(account_id, persona):
    Avatar.objects.update_or_create(account_id=account_id, defaults={"persona": persona})
'''

UNIQUE = DJANGO_MODELS + '''
def save(email, persona):
    Avatar.objects.get_or_create(email=email, defaults={"persona": persona})
'''

KEY_PLUS_FILTERS = DJANGO_MODELS + '''
def save(email, account_id):
    Avatar.objects.get_or_create(email=email, account_id=account_id, persona__startswith="o")
'''

IEXACT = DJANGO_MODELS + '''
def save(email):
    Avatar.objects.get_or_create(email__iexact=email)
'''

PEEWEE = '''
from peewee import CharField, IntegerField, Model

class Avatar(Model):
    account_id = IntegerField()
    persona = CharField()

    class Meta:
        table_name = "avatars"

def save(account_id, persona):
    return Avatar.get_or_create(account_id=account_id, defaults={"persona": persona})
'''

CLASSMETHOD = '''
from django.db import models


class DailyHits(models.Model):
    query = models.TextField()
    date = models.DateField()
    hits = models.IntegerField(default=0)

    @classmethod
    def add_hit(cls, query, date):
        hits, _ = cls.objects.get_or_create(query=query, date=date)
        return hits
'''

MANAGER = '''
from django.db import models


class TagManager(models.Manager):
    def ensure(self, name):
        return self.get_or_create(name=name)[0]


class Tag(models.Model):
    name = models.CharField(max_length=50)
    objects = TagManager()
'''

PROJECT_METHOD = '''
from sqlalchemy import Column, Integer, String
from sqlalchemy.orm import declarative_base

Base = declarative_base()


class Tag(Base):
    __tablename__ = "tags"
    id = Column(Integer, primary_key=True)
    name = Column(String(50), nullable=False, unique=True)

    @classmethod
    def get_or_create(cls, session, **fields):
        tag = session.query(cls).filter_by(**fields).first()
        if tag is None:
            tag = cls(**fields)
            session.add(tag)
        return tag


def tag(session, name):
    return Tag.get_or_create(session, name=name)
'''

NOT_A_MODEL = '''
class Registry:
    def get_or_create(self, name):
        return name

def lookup(registry, name):
    return registry.get_or_create(name=name)
'''


def later_calls(site) -> str:
    """What every call after the duplicates does (tests/runtime/test_orm_races.py and
    test_peewee_race.py run both): Django's get() raises, peewee's reads the first match."""
    if PEEWEE_CLASS in (site.call.guard_sql or ""):
        return "every later call returns whichever duplicate the database reads first, and writes no more"
    return "every later call raises MultipleObjectsReturned"


class GetOrCreateWithoutUniqueKey(IdiomRule):
    id = "UPS201"
    name = "get-or-create-without-unique-key"
    severity = Severity.WARNING
    fix_safety = FixSafety.UNSAFE
    dialects = ("postgres", "sqlite", "mysql")
    idioms = (IdiomKind.GET_OR_CREATE,)

    what = """
Checks Django `get_or_create` / `update_or_create` (and `aget_or_create` /
`aupdate_or_create`) and peewee `get_or_create` whose lookup fields (everything but
`defaults` / `create_defaults`) are not covered by a unique key of the model's table.
Also `self.get_or_create(...)` in a custom manager or queryset, on the model that places it
(`objects = TagManager()`, `TagQuerySet.as_manager()`). A `get_or_create` the project
defines itself (a classmethod on a SQLAlchemy model) is not the ORM's and not judged here:
its body is read as the code it is (UPS101).
"""
    why = """
These methods SELECT, then INSERT when nothing was found; they are atomic only when the
database enforces uniqueness of the lookup (Django's docs say so). Without a unique key two
concurrent calls both insert, and from then on every call raises `MultipleObjectsReturned`
(Django), or returns whichever of the duplicates the database reads first (peewee).
A lookup that is not an exact match (`email__iexact`) is not backed by a plain unique key
either.

Not reported: a lookup that holds a whole unique key, whatever else it filters by (the loser
of a race gets IntegrityError, or Django reads the winner's row: never a duplicate); a field
the schema has no column for (not even `<field>_id`), since which key it belongs to is not
known. A nullable column in the key is not reported either: only a lookup that passes NULL
there (`parent=None`) can duplicate, and the audit does not see the values the code passes.
"""
    example = """
```python
Avatar.objects.update_or_create(account_id=account_id, defaults={"persona": persona})
# avatars has no unique key on account_id
```
"""
    use_instead = """
Add the unique key the lookup needs (`upsert-audit migrate` writes the migration, removing
duplicates first), e.g. `UniqueConstraint(fields=["account"], name="avatar_account_uniq")`.
Then the call is correct as written: the loser of a race gets IntegrityError, which Django
handles by reading the winner's row.
"""

    examples = (
        Invalid("", "", python=NOT_UNIQUE, dialects=("postgres", "sqlite")),
        Invalid("", "", python=IEXACT, dialects=("postgres",), note="iexact: the unique key on email does not back it"),
        Invalid("", "", python=PEEWEE, dialects=("sqlite",)),
        Invalid("", "", python=CLASSMETHOD, dialects=("postgres",), note="`cls` in a model's classmethod is the model"),
        Valid("", "", python=UNIQUE, dialects=("postgres",)),
        Valid("", "", python=KEY_PLUS_FILTERS, dialects=("postgres", "sqlite"),
              note="the whole unique key (email) plus other filters: at worst the loser's IntegrityError"),
        Invalid("", "", python=MANAGER, dialects=("postgres", "sqlite", "mysql"), note="`self` in a custom manager is the model's manager"),
        Valid("", "", python=NOT_A_MODEL, dialects=("postgres",), note="not an ORM model: not a finding"),
        Valid("", "", python=PROJECT_METHOD, dialects=("postgres",), note="the model's own get_or_create, not the ORM's"),
    )

    def check(self, site, table):
        known, unknown = lookup_columns(site.key_columns, table)
        if covering_key(table, known) is not None:
            return  # a whole unique key pins the row: at worst the loser's IntegrityError, never a duplicate
        if unknown:
            return  # which column a field is, the schema does not say: no claim about its keys
        name = sql_table_name(table, site.dialect)
        if not known:
            lookup = "a lookup that is not an exact match on columns"
        else:
            lookup = f"the lookup {key_list(known)}" + (" plus filters that are not exact matches" if site.inexact_lookup else "")
        yield Violation(
            message=(
                f"{site.call.api}() on {name} with {lookup}, which no unique key covers: two concurrent calls both insert, "
                f"and {later_calls(site)}"
            ),
            fix=(
                f"Add a unique key on {key_list(known)} to {name} (`upsert-audit migrate` writes the migration), or look up by a unique field."
                if known and not site.inexact_lookup
                else "Look up by an exact match on a unique field (or add a unique key on what the lookup means, e.g. lower(email))."
            ),
            evidence=table_keys_evidence(table),
        )
