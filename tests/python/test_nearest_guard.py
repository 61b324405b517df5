"""An insert belongs to the nearest guard before it. pretalx's `_ensure_cfp`: an early return
on `hasattr(event, "cfp")`, then a lookup of the default submission type and its create: the
create is the second guard's check-then-insert (on submission types), not the first guard's
(whose lookup is of the CfP table, which would make the pair no upsert at all)."""

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
