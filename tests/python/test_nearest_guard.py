"""An insert belongs to the nearest guard before it. pretalx's `_ensure_cfp`: an early return
on `hasattr(event, "cfp")`, then a lookup of the default submission type and its create: the
create is the second guard's check-then-insert (on submission types), not the first guard's
(whose lookup is of the CfP table, which would make the pair no upsert at all). Where several
guards read the inserted table itself, each is an idiom of that insert."""

from __future__ import annotations

import json

from auditor.cli import main

MODELS = '''
from django.db import models


class Event(models.Model):
    slug = models.SlugField(unique=True)


class SubmissionType(models.Model):
    event = models.ForeignKey(Event, models.CASCADE, related_name="submission_types")
    name = models.CharField(max_length=100)


class CfP(models.Model):
    event = models.OneToOneField(Event, models.CASCADE, related_name="cfp")
    default_type = models.ForeignKey(SubmissionType, models.PROTECT)
'''

SETUP = '''
from conference.models import CfP, SubmissionType


def ensure_cfp(event):
    if hasattr(event, "cfp"):
        return
    default_type = SubmissionType.objects.filter(event=event).first()
    if not default_type:
        default_type = SubmissionType.objects.create(event=event, name="Talk")
    CfP.objects.create(event=event, default_type=default_type)
'''


def test_the_insert_is_the_nearest_guards(make_project, capsys):
    project = make_project({"conference/__init__.py": "", "conference/models.py": MODELS, "conference/setup.py": SETUP})
    main(["check", str(project), "--format", "json", "--no-cache", "--dialect", "postgres"])
    doc = json.loads(capsys.readouterr().out)
    [finding] = doc["findings"]
    assert (finding["rule"], finding["path"], finding["line"]) == ("UPS101", "conference/setup.py", 10)
    assert "on conference_submissiontype by (event_id): no unique key" in finding["message"]
    assert not [s for s in doc["sites"] if s["status"] != "checked"]


ACCOUNTS = '''
from django.db import models


class Account(models.Model):
    username = models.CharField(max_length=100, unique=True)
    email = models.CharField(max_length=100)
    pubkey = models.CharField(max_length=100)


class Audit(models.Model):
    note = models.CharField(max_length=100)
'''

SIGNUP = '''
from accounts.models import Account, Audit


def sign_up(username, email, pubkey):
    if Audit.objects.filter(note=username).exists():
        return None
    if Account.objects.filter(username=username).exists():
        raise ValueError("username taken")
    if Account.objects.filter(email=email).exists():
        raise ValueError("email taken")
    if Account.objects.filter(email=email).exists():  # the same lookup again: one idiom
        raise ValueError("email taken")
    if Account.objects.filter(pubkey=pubkey).exists():
        raise ValueError("pubkey taken")
    return Account.objects.create(username=username, email=email, pubkey=pubkey)
'''


def test_every_guard_on_the_inserted_table_is_an_idiom_of_that_insert(make_project, capsys):
    """lnbits' create_user_account: username, email and pubkey checked one after the other, then
    one insert: three races, each judged on its own key (the username's unique key stops a
    duplicate; email and pubkey have none). The guard of another table is not one of them."""
    project = make_project({"accounts/__init__.py": "", "accounts/models.py": ACCOUNTS, "accounts/signup.py": SIGNUP})
    main(["check", str(project), "--format", "json", "--no-cache", "--dialect", "postgres"])
    doc = json.loads(capsys.readouterr().out)
    found = sorted((f["sql_origin"]["line"], f["line"], f["message"].split(":")[0]) for f in doc["findings"])
    assert found == [
        (8, 16, "check-then-insert on accounts_account by (username)"),
        (10, 16, "check-then-insert on accounts_account by (email)"),
        (14, 16, "check-then-insert on accounts_account by (pubkey)"),
    ]
