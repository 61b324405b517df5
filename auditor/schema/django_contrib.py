"""The models of Django's own auth and contenttypes apps, for projects that use them.

`from django.contrib.auth.models import User` writes `auth_user`, a table no file of the
project defines: Django's own migrations make it. These are its models as the fields and keys
they declare (Django 4.2-5.x: `auth_user.username` is unique, `email` is not; a group's name
is unique; a permission is unique per content type and codename), read by the models reader
as if they were the project's own. They are added only where the project imports them from
`django.contrib.auth.models` and defines no model of the same names (a project with its own
`User` or `Group` swaps or shadows them), and `User` only where AUTH_USER_MODEL is not swapped.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Iterator

from auditor.schema import read_log
from auditor.schema.pysource import PythonModule

CONTENTTYPES_SOURCE = '''
from django.db import models


class ContentType(models.Model):
    id = models.AutoField(primary_key=True)
    app_label = models.CharField(max_length=100)
    model = models.CharField(max_length=100)

    class Meta:
        db_table = "django_content_type"
        unique_together = [["app_label", "model"]]
'''

AUTH_SOURCE = '''
from django.contrib.auth.models import AbstractUser
from django.db import models


class Permission(models.Model):
    id = models.AutoField(primary_key=True)
    name = models.CharField(max_length=255)
    content_type = models.ForeignKey("contenttypes.ContentType", models.CASCADE)
    codename = models.CharField(max_length=100)

    class Meta:
        unique_together = [["content_type", "codename"]]


class Group(models.Model):
    id = models.AutoField(primary_key=True)
    name = models.CharField(max_length=150, unique=True)
    permissions = models.ManyToManyField(Permission, blank=True)


class User(AbstractUser):
    id = models.AutoField(primary_key=True)
    groups = models.ManyToManyField(Group, blank=True, related_name="user_set", related_query_name="user")
    user_permissions = models.ManyToManyField(Permission, blank=True, related_name="user_set", related_query_name="user")
'''

# Where the models come from, as the catalog's sources list shows them.
CONTRIB_FOLDER = "<django.contrib>"
IMPORTS_AUTH_MODELS = re.compile(rb"from\s+django\.contrib\.auth\.models\s+import\s+\(?[^)\n]*\b(?:User|Group|Permission)\b")
SWAPPED_USER = re.compile(rb"""^AUTH_USER_MODEL\s*=\s*["'](?!auth\.User["'])""", re.M)


def contrib_modules(root: Path, files: list[Path], project_models: set[str]) -> list[PythonModule]:
    """Django's auth and contenttypes models, where the project uses them (see the module's doc).
    The files are read one at a time, and only until the answer is known."""
    names = {"ContentType", "Permission", "Group", "User"}
    if names & project_models:
        return []  # a project model of one of these names: Django's are swapped out or shadowed
    if not any(b"django.contrib.auth" in data and IMPORTS_AUTH_MODELS.search(data) for data in _contents(files)):
        return []
    auth = ast.parse(AUTH_SOURCE)
    if any(b"AUTH_USER_MODEL" in data and SWAPPED_USER.search(data) for data in _contents(files)):
        auth.body = [node for node in auth.body if not (isinstance(node, ast.ClassDef) and node.name == "User")]
    return [
        _module(root, "contenttypes", ast.parse(CONTENTTYPES_SOURCE)),
        _module(root, "auth", auth),
    ]


def _module(root: Path, app: str, tree: ast.Module) -> PythonModule:
    relative = f"{CONTRIB_FOLDER}/{app}/models.py"
    return PythonModule(root / relative, relative, tree)


def _contents(files: list[Path]) -> Iterator[bytes]:
    for path in files:
        try:
            yield read_log.read_bytes(path)
        except OSError:
            continue
