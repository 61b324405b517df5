"""`self.get_or_create(...)` / `self.filter(...)` in a custom manager or queryset writes the model
that places the class (`objects = ThatManager()`, `ThatQuerySet.as_manager()`,
`Manager.from_queryset(ThatQuerySet)()`), found across modules by the Django models reader.
A `get_or_create` the project defines itself on a model class is not the ORM's: its call is
not judged as Django's, and its body is read as the code it is (`cls` is the model).
tests/runtime/test_manager_races.py races the same code on the databases."""

from __future__ import annotations

import json

import pytest

from auditor.cli import main

MANAGERS = '''
from django.db import models


class TagManager(models.Manager):
    def ensure(self, name):
        tag, _ = self.get_or_create(name=name)
        return tag

    def ensure_by_hand(self, name):
        if not self.filter(name=name).exists():
            self.create(name=name)


class LabelQuerySet(models.QuerySet):
    def ensure(self, name):
        return self.get_or_create(name=name)[0]

    def ensure_local(self, name):
        label = self.filter(name=name).first()
        if label is None:
            label = self.model(name=name)
            label.save()
        return label


class NoteQuerySet(models.QuerySet):
    def ensure(self, name):
        return self.get_or_create(name=name)[0]


class SharedManager(models.Manager):
    def ensure(self, name):
        return self.get_or_create(name=name)[0]


class Cache:
    def ensure(self, name):
        return self.get_or_create(name=name)  # not a manager: its own method
'''

MODELS = '''
from django.db import models

from shop.managers import LabelQuerySet, NoteQuerySet, SharedManager, TagManager


class Tag(models.Model):
    name = models.CharField(max_length=50{unique})
    objects = TagManager()


class Label(models.Model):
    name = models.CharField(max_length=50{unique})
    objects = LabelQuerySet.as_manager()


class Note(models.Model):
    name = models.CharField(max_length=50{unique})
    objects = models.Manager.from_queryset(NoteQuerySet)()


class Pin(models.Model):
    name = models.CharField(max_length=50)
    objects = SharedManager()


class Flag(models.Model):
    name = models.CharField(max_length=50)
    objects = SharedManager()
'''


def audit(make_project, capsys, files: dict[str, str]) -> dict:
    project = make_project({"shop/__init__.py": "", **files})
    main(["check", str(project), "--format", "json", "--no-cache", "--dialect", "postgres"])
    return json.loads(capsys.readouterr().out)


def flagged(doc: dict) -> list[tuple[str, str, int]]:
    return [(f["rule"], f["path"], f["line"]) for f in doc["findings"]]


def test_self_in_a_custom_manager_or_queryset_is_the_model_that_places_it(make_project, capsys):
    doc = audit(make_project, capsys, {"shop/managers.py": MANAGERS, "shop/models.py": MODELS.format(unique="")})
    assert flagged(doc) == [
        ("UPS201", "shop/managers.py", 7),  # TagManager: objects = TagManager()
        ("UPS101", "shop/managers.py", 12),
        ("UPS201", "shop/managers.py", 17),  # LabelQuerySet.as_manager()
        ("UPS101", "shop/managers.py", 23),
        ("UPS201", "shop/managers.py", 29),  # Manager.from_queryset(NoteQuerySet)()
    ]
    tables = ["shop_tag", "shop_tag", "shop_label", "shop_label", "shop_note"]
    assert all(f"{t} " in f["message"] and "(name)" in f["message"] for f, t in zip(doc["findings"], tables))
    # SharedManager sits on two models: which table it writes is not known, and it is not
    # counted as an idiom left unchecked; Cache is no manager.
    assert doc["summary"]["idioms"] == 5 and doc["summary"]["idioms_unchecked"] == 0


def test_with_the_unique_key_get_or_create_is_quiet_and_the_hand_made_one_fails_loudly(make_project, capsys):
    doc = audit(make_project, capsys, {"shop/managers.py": MANAGERS, "shop/models.py": MODELS.format(unique=", unique=True")})
    assert flagged(doc) == [("UPS101", "shop/managers.py", 12), ("UPS101", "shop/managers.py", 23)]
    assert all("unique_violation" in f["message"] for f in doc["findings"])


SQLALCHEMY_MODELS = '''
from sqlalchemy import Column, Integer, String
from sqlalchemy.orm import declarative_base

Base = declarative_base()


class Tag(Base):
    __tablename__ = "tags"
    id = Column(Integer, primary_key=True)
    name = Column(String(50), nullable=False)

    @classmethod
    def get_or_create(cls, session, name):
        tag = session.query(cls).filter_by(name=name).first()
        if tag is None:
            tag = cls(name=name)
            session.add(tag)
        return tag

    @classmethod
    def get_or_create_any(cls, session, **fields):
        tag = session.query(cls).filter_by(**fields).first()
        if tag is None:
            session.add(cls(**fields))
        return tag
'''

SQLALCHEMY_APP = '''
from models import Tag


def use(session, name):
    Tag.get_or_create(session, name=name)
    Tag.get_or_create_any(session, name=name)
'''


def test_a_get_or_create_the_project_defines_is_read_as_its_own_code(make_project, capsys):
    doc = audit(make_project, capsys, {"models.py": SQLALCHEMY_MODELS, "app.py": SQLALCHEMY_APP})
    # The race is in the classmethod's body (cls is Tag); the call is not Django's get_or_create,
    # and the **fields one cannot be paired by its key: left alone, never guessed.
    assert flagged(doc) == [("UPS101", "models.py", 18)]
    assert "no unique key of tags covers (name)" in doc["findings"][0]["message"]
    assert doc["summary"]["idioms_unchecked"] == 0


PEEWEE = '''
from peewee import CharField, Model


class Tag(Model):
    name = CharField()


class Label(Model):
    name = CharField()

    @classmethod
    def get_or_create(cls, **kwargs):
        return cls.create(**kwargs), True


def use(name):
    Tag.get_or_create(name=name)
    Label.get_or_create(name=name)
'''


def test_model_get_or_create_is_peewees_only_on_a_peewee_model_that_does_not_define_its_own(make_project, capsys):
    doc = audit(make_project, capsys, {"models.py": PEEWEE})
    assert flagged(doc) == [("UPS201", "models.py", 18)]
    assert doc["summary"]["idioms_unchecked"] == 0


@pytest.mark.parametrize("call", ["Tag.get_or_create(name=name)", "Tag.update_or_create(name=name)"])
def test_get_or_create_on_a_django_model_class_is_the_projects_own(make_project, capsys, call):
    models = "from django.db import models\n\nclass Tag(models.Model):\n    name = models.CharField(max_length=5)\n"
    views = f"from shop.models import Tag\n\ndef use(name):\n    {call}\n"
    doc = audit(make_project, capsys, {"shop/models.py": models, "shop/views.py": views})
    assert doc["findings"] == [] and doc["summary"]["idioms_unchecked"] == 0
