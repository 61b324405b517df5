"""Where a Django model's base class lives: in another module of the project, or in a
package outside the tree.

`class Item(BaseModel)` with `from core.db import BaseModel` is found through the import,
in whichever project file defines it (a module or a package re-exporting it). The abstract
bases of Django and of the packages most projects build on (`AbstractUser`,
`AbstractBaseUser`, `PermissionsMixin`, django-model-utils' and django-extensions'
`TimeStampedModel`, ...) are written out here as the fields they add, so a model deriving
from them is a model with those fields (`AbstractUser.username` is unique). A base found in
neither place is unknown: the models reader then reads a class that declares fields or a
Meta as a model, and says that the base's own fields are not known.
"""

from __future__ import annotations

import ast
from pathlib import Path

from auditor.schema.pysource import PythonModule, module_imports, module_name, parse_module

# The abstract models of Django and common packages, as the fields each adds (their own
# bases first). Keys they declare are what matters to the audit; field types are close.
KNOWN_BASES_SOURCE = '''
from django.db import models


class AbstractBaseUser(models.Model):
    password = models.CharField(max_length=128)
    last_login = models.DateTimeField(blank=True, null=True)

    class Meta:
        abstract = True


class PermissionsMixin(models.Model):
    is_superuser = models.BooleanField(default=False)

    class Meta:
        abstract = True


class AbstractUser(AbstractBaseUser, PermissionsMixin):
    username = models.CharField(max_length=150, unique=True)
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    email = models.EmailField(blank=True)
    is_staff = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField()

    class Meta:
        abstract = True


class TimeStampedModel(models.Model):
    created = models.DateTimeField()
    modified = models.DateTimeField()

    class Meta:
        abstract = True


class TimeFramedModel(models.Model):
    start = models.DateTimeField(null=True, blank=True)
    end = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True


class SoftDeletableModel(models.Model):
    is_removed = models.BooleanField(default=False)

    class Meta:
        abstract = True


class UUIDModel(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)

    class Meta:
        abstract = True
'''
# Which packages these come from: a base imported from elsewhere under the same name is not one of them.
KNOWN_BASE_PACKAGES = ("django.contrib.auth", "model_utils", "django_extensions")


def known_bases_module() -> PythonModule:
    return PythonModule(Path("<known Django bases>"), "<known Django bases>", ast.parse(KNOWN_BASES_SOURCE))


def known_base_name(module: PythonModule, name: str) -> str | None:
    """The known abstract base a class name imported into `module` stands for, if it comes
    from one of the packages that define them."""
    imported = imports_of(module).get(name)
    if imported is None:
        return None
    source, attribute = imported
    return (attribute or name) if source.startswith(KNOWN_BASE_PACKAGES) else None


def imports_of(module: PythonModule) -> dict[str, tuple[str, str | None]]:
    _, package = module_name(module.relative)
    return module_imports(module.tree, package)


class ProjectClasses:
    """Classes of the project found through imports, each file parsed once."""

    def __init__(self, root: Path):
        self.root = root
        self.parsed: dict[Path, PythonModule | None] = {}

    def find(self, module: PythonModule, name: str, depth: int = 0) -> tuple[PythonModule, ast.ClassDef] | None:
        """The class `name` as `module` imports it (`from core.db import BaseModel`), following
        a package's re-export (`from .base import BaseModel` in core/__init__.py)."""
        imported = imports_of(module).get(name)
        if imported is None or depth > 3:
            return None
        source, attribute = imported
        target = self.module(source)
        if target is None or attribute is None:
            return None
        for node in target.tree.body:
            if isinstance(node, ast.ClassDef) and node.name == attribute:
                return target, node
        return self.find(target, attribute, depth + 1)

    def module(self, dotted: str) -> PythonModule | None:
        base = self.root.joinpath(*dotted.split("."))
        for path in (base.with_suffix(".py"), base / "__init__.py", self.root / "src" / base.relative_to(self.root).with_suffix(".py")):
            if path.is_file():
                if path not in self.parsed:
                    self.parsed[path] = parse_module(path, self.root)[0]
                return self.parsed[path]
        return None
