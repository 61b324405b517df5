"""peewee models, read statically, must equal what `create_tables` builds on the real databases
(a field class of the project that extends ForeignKeyField included)."""

from __future__ import annotations

import textwrap

import pytest

from auditor.schema.compare import comparable, foreign_key_set
from auditor.schema.peewee_models import read_peewee_models
from auditor.schema.source import catalog_from_source

from framework_oracle import live_comparable, live_foreign_keys, run_python

MODELS = '''
import os

import peewee
from peewee import (SQL, BigAutoField, CharField, CompositeKey, DeferredForeignKey, ForeignKeyField, IntegerField,
                    ManyToManyField, Model, TextField)

from urllib.parse import urlparse

url = urlparse(os.environ["DB"])
if url.scheme == "postgresql":
    db = peewee.PostgresqlDatabase(url.path[1:], user=url.username, host=url.hostname, port=url.port)
elif url.scheme == "mysql":
    db = peewee.MySQLDatabase(url.path[1:], user=url.username, password=url.password or "", host=url.hostname, port=url.port)
else:
    db = peewee.SqliteDatabase(os.environ["DB"])


class BaseModel(Model):
    class Meta:
        database = db


class Account(BaseModel):
    email = CharField(unique=True)
    handle = CharField(null=True)
    tenant = IntegerField()
    referrer = ForeignKeyField("self", null=True, backref="referrals")

    class Meta:
        indexes = ((("tenant", "handle"), True), (("tenant",), False))


class AvatarConfiguration(BaseModel):
    account = ForeignKeyField(Account)
    persona = CharField()
    owner = ForeignKeyField(Account, field=Account.email, column_name="owner_email", null=True, backref="owned")
    reviewer_id = ForeignKeyField(Account, field="email", null=True, backref="reviewed")


class Preference(BaseModel):
    account = ForeignKeyField(Account)
    key = CharField()
    value = TextField(null=True)

    class Meta:
        primary_key = CompositeKey("account", "key")
        table_name = "prefs"


class ApiToken(BaseModel):
    token = CharField(column_name="token_hash")
    scope = CharField()

    class Meta:
        legacy_table_names = False
        constraints = [SQL("UNIQUE (scope, token_hash)")]


class Comment(BaseModel):
    id = BigAutoField()
    author = ForeignKeyField(Account)
    reply_to = ForeignKeyField("self", null=True)
    ledger = DeferredForeignKey("Ledger", null=True)  # create_tables makes no constraint for it
    body = TextField()


class PinnedComment(Comment):  # inherits the keys; its "self" is pinnedcomment
    rank = IntegerField()


class Ledger(BaseModel):
    code = CharField(primary_key=True)


class LedgerEntry(BaseModel):
    ledger = ForeignKeyField(Ledger)
    comment = ForeignKeyField(Comment, null=True)
    watchers = ManyToManyField(Account)  # a through table, not a column


class AccountField(ForeignKeyField):  # quay's QuayUserField: a foreign key to Account unless told otherwise
    def __init__(self, allows_robots=False, *args, **kwargs):
        self.allows_robots = allows_robots
        if "model" not in kwargs:
            kwargs["model"] = Account
        super().__init__(*args, **kwargs)


class Membership(BaseModel):
    member = AccountField(allows_robots=True, index=True)
    team = CharField()

    class Meta:
        indexes = ((("member", "team"), True),)


MODELS = [Account, AvatarConfiguration, Preference, ApiToken, Comment, PinnedComment, Ledger, LedgerEntry, Membership]
'''

CREATE = "import sys; sys.path.insert(0, '.'); import models; models.db.create_tables(models.MODELS)"


@pytest.mark.parametrize("dialect", ["postgres", "sqlite", "mysql"])
def test_models_equal_create_tables(dialect, request, tmp_path):
    pg = request.getfixturevalue("pg_database") if dialect == "postgres" else None
    mysql = request.getfixturevalue("mariadb_url") if dialect == "mysql" else None
    sqlite_path = tmp_path / "live.sqlite"
    (tmp_path / "models.py").write_text(textwrap.dedent(MODELS))
    run_python(CREATE, tmp_path, env={"DB": pg or mysql or str(sqlite_path)})
    source = read_peewee_models(tmp_path, [tmp_path / "models.py"], dialect)
    assert source.diagnostics == []
    static = catalog_from_source(source, dialect)
    assert static.diagnostics == []
    assert sorted(n.name for n in static.tables) == [
        "account", "api_token", "avatarconfiguration", "comment", "ledger", "ledgerentry", "membership", "pinnedcomment", "prefs"]
    assert comparable(static) == live_comparable(dialect, pg or mysql, sqlite_path)
    assert foreign_key_set(static) == live_foreign_keys(dialect, pg or mysql, sqlite_path)
