"""Custom Django managers and querysets raced for real on PostgreSQL, MariaDB and SQLite: the
code tests/python/test_idioms_managers.py audits (`self.get_or_create(...)` in a manager placed
by `objects = TagManager()`, a check-then-insert by hand in a queryset placed by
`LabelQuerySet.as_manager()`, `self.get()` then `self.model(...).save()` on DoesNotExist) is run by Django itself from two threads that meet between
the lookup and the insert (Django's execute_wrapper hook). Without a unique key both insert;
with one, get_or_create re-reads the winner's row and the hand-made idiom's loser fails."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from auditor.cli import main

MANAGERS = '''
from django.db import models


class TagManager(models.Manager):
    def ensure(self, name):
        tag, _ = self.get_or_create(name=name)
        return tag


class LabelQuerySet(models.QuerySet):
    def ensure(self, name):
        if not self.filter(name=name).exists():
            self.create(name=name)


class NoteManager(models.Manager):
    def ensure(self, name):
        try:
            note = self.get(name=name)
        except self.model.DoesNotExist:
            note = self.model(name=name)
            note.save()
        return note
'''

MODELS = '''
from django.db import models

from shop.managers import LabelQuerySet, NoteManager, TagManager


class Tag(models.Model):
    name = models.CharField(max_length=50, unique=UNIQUE)
    objects = TagManager()


class Label(models.Model):
    name = models.CharField(max_length=50, unique=UNIQUE)
    objects = LabelQuerySet.as_manager()


class Note(models.Model):
    name = models.CharField(max_length=50, unique=UNIQUE)
    objects = NoteManager()
'''

RACE = r'''
import sys
import threading

import django
from django.conf import settings

settings.configure(DATABASES={"default": %(database)r}, INSTALLED_APPS=["shop"], USE_TZ=True)
django.setup()
from django.db import connection, connections

from shop.models import %(model)s as Model

with connection.schema_editor() as editor:
    editor.create_model(Model)
connection.close()

meet = threading.Barrier(2)
errors = []
local = threading.local()


def meet_after_the_lookup(execute, sql, params, many, context):
    result = execute(sql, params, many, context)
    lookup = sql.lstrip().upper().startswith("SELECT") and Model._meta.db_table in sql  # not MySQL's session setup
    if lookup and not getattr(local, "met", False):
        local.met = True  # only the first lookup: get_or_create's retry after IntegrityError looks again
        try:
            meet.wait(timeout=5)  # both requests have looked and found nothing
        except threading.BrokenBarrierError:
            pass
    return result


def request():
    try:
        with connections["default"].execute_wrapper(meet_after_the_lookup):
            Model.objects.ensure("urgent")
    except Exception as error:
        errors.append(type(error).__name__)
    finally:
        connections.close_all()


threads = [threading.Thread(target=request) for _ in range(2)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(json.dumps([Model.objects.filter(name="urgent").count(), sorted(errors)]))
'''


def write_project(tmp_path, unique: bool):
    (tmp_path / "shop").mkdir(parents=True)
    (tmp_path / "shop" / "__init__.py").write_text("")
    (tmp_path / "shop" / "managers.py").write_text(MANAGERS)
    (tmp_path / "shop" / "models.py").write_text(MODELS.replace("UNIQUE", str(unique)))
    return tmp_path


def race(project, database: dict, model: str) -> tuple[int, list[str]]:
    script = "import json\n" + RACE % {"database": database, "model": model}
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=project)
    assert run.returncode == 0, run.stderr
    rows, errors = json.loads(run.stdout.strip().splitlines()[-1])
    return rows, errors


@pytest.fixture(params=["postgres", "mysql", "sqlite"])
def database(request, django_database):
    """(dialect, Django DATABASES entry) of a fresh database on each server."""
    return request.param, django_database(request.param)


# model -> (its manager's idiom, the rule, outcome without key, outcome with the key)
CASES = {
    "Tag": ("UPS201", 7, (2, []), (1, [])),  # Django's get_or_create catches the loser's IntegrityError
    "Label": ("UPS101", 14, (2, []), (1, ["IntegrityError"])),
    # try: self.get() / except DoesNotExist: save(): a file with no `.objects.` in it is read too
    "Note": ("UPS101", 23, (2, []), (1, ["IntegrityError"])),
}


@pytest.mark.parametrize("unique", [False, True], ids=["no-key", "unique-key"])
@pytest.mark.parametrize("model", sorted(CASES))
def test_a_custom_managers_idiom_races_as_the_audit_says(model, unique, database, tmp_path, capsys):
    dialect, entry = database
    project = write_project(tmp_path / "project", unique)
    rule, line, without_key, with_key = CASES[model]
    main(["check", str(project), "--format", "json", "--no-cache", "--dialect", dialect])
    findings = {(f["rule"], f["line"]) for f in json.loads(capsys.readouterr().out)["findings"]}
    # get_or_create with the key is right (no finding); everything else is flagged where it races
    expected = set() if (rule == "UPS201" and unique) else {(rule, line)}
    assert {f for f in findings if f[1] == line} == expected
    assert race(project, entry, model) == (with_key if unique else without_key)
