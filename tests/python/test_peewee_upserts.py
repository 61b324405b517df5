"""peewee upserts are write sites: flagged exactly when peewee's own query fails on the real
PostgreSQL (the oracle runs the same functions through peewee)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from auditor.cli import main

MODELS = '''
import os
from urllib.parse import urlparse

import peewee
from peewee import CharField, ForeignKeyField, IntegerField, Model

url = urlparse(os.environ.get("DB", "postgresql://x@localhost/x"))
db = peewee.PostgresqlDatabase(url.path[1:], user=url.username, host=url.hostname, port=url.port)


class BaseModel(Model):
    class Meta:
        database = db


class Account(BaseModel):
    email = CharField(unique=True)


class Stat(BaseModel):
    account = ForeignKeyField(Account)
    key = CharField()
    n = IntegerField()

    class Meta:
        indexes = ((("account", "key"), True),)


def bump(account, key):
    Stat.insert(account=account, key=key, n=1).on_conflict(
        conflict_target=[Stat.account, Stat.key], update={Stat.n: Stat.n + 1}).execute()


def bump_wrong(account, key):
    query = Stat.insert(account=account, key=key, n=1).on_conflict(conflict_target=[Stat.key], preserve=[Stat.n])
    query.execute()


def register(email):
    Account.insert(email=email).on_conflict_ignore().execute()
'''

ORACLE = """
import models
models.db.create_tables([models.Account, models.Stat])
account = models.Account.create(email="a@example.com")
for name, args in (("bump", (account, "k")), ("bump_wrong", (account, "k")), ("register", ("a@example.com",))):
    try:
        getattr(models, name)(*args)
        print(name, "ok")
    except Exception as error:
        print(name, str(error).splitlines()[0])
"""


def test_peewee_upserts_match_what_peewee_does(pg_database, make_project, capsys):
    project = make_project({"models.py": MODELS, "pyproject.toml": '[tool.upsert-audit]\ndialect = "postgres"\n'})
    assert main(["check", str(project), "--format", "json", "--no-cache"]) == 1
    document = json.loads(capsys.readouterr().out)
    # bump_wrong: query.execute(). register: on_conflict_ignore() writes only email, so its
    # generated id cannot clash and email is the only key it can hit: not UPS012.
    assert sorted((f["rule"], f["line"]) for f in document["findings"]) == [("UPS001", 37)]
    assert document["summary"]["write_sites"] == 3 and document["summary"]["checked"] == 3

    run = subprocess.run([sys.executable, "-c", ORACLE], cwd=project, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "DB": pg_database})
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == "bump ok" and lines[2] == "register ok"
    # no arbiter: PostgreSQL refuses it (42P10), as UPS001 says
    assert lines[1] == "bump_wrong there is no unique or exclusion constraint matching the ON CONFLICT specification"
