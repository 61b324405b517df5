"""Django's own auth and contenttypes models (auditor/schema/django_contrib.py) against what
Django's `migrate` makes of those apps on PostgreSQL, SQLite and MariaDB: the same tables,
columns, NULL-ability and unique keys (names aside: Django's migrations name them by hashes
of their own history). And they are only added where the project imports them and defines
no model of the same name."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
from framework_oracle import live_catalog, run_module

from auditor.schema.compare import comparable
from auditor.schema.django_models import read_django_models
from auditor.schema.sources import catalog_from_source

SETTINGS = '''
import os

SECRET_KEY = "test-only"
USE_TZ = True
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "shop"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
ENGINE = os.environ["DJANGO_DB_ENGINE"]
if ENGINE.endswith("mysql"):
    import pymysql

    pymysql.version_info = (2, 2, 1, "final", 0)
    pymysql.install_as_MySQLdb()
DATABASES = {"default": {"ENGINE": ENGINE, "NAME": os.environ["DJANGO_DB_NAME"], "USER": os.environ.get("DJANGO_DB_USER", ""),
                         "PASSWORD": os.environ.get("DJANGO_DB_PASSWORD", ""), "HOST": os.environ.get("DJANGO_DB_HOST", ""),
                         "PORT": os.environ.get("DJANGO_DB_PORT", "")}}
'''

SHOP_MODELS = '''
from django.contrib.auth.models import User
from django.db import models


class Note(models.Model):  # no key to User: `migrate --run-syncdb` makes unmigrated apps first
    author_name = models.CharField(max_length=150)
'''

DJANGO_TABLES = {"auth_user", "auth_group", "auth_permission", "auth_user_groups", "auth_group_permissions",
                 "auth_user_user_permissions", "django_content_type"}


def write_project(root, models: str = SHOP_MODELS, settings: str = SETTINGS):
    (root / "config").mkdir(parents=True)
    (root / "config" / "__init__.py").write_text("")
    (root / "config" / "settings.py").write_text(settings)
    (root / "shop").mkdir()
    (root / "shop" / "__init__.py").write_text("")
    (root / "shop" / "models.py").write_text(models)
    return root


def _django_tables(catalog) -> dict:
    found = comparable(catalog, names=False)
    return {name: table for name, table in found.items() if name.split(".")[-1] in DJANGO_TABLES}


@pytest.mark.parametrize("dialect", ["postgres", "sqlite", "mysql"])
def test_djangos_own_tables_equal_what_migrate_makes(dialect, request, tmp_path):
    project = write_project(tmp_path / "project")
    sqlite_path = tmp_path / "live.sqlite"
    if dialect == "sqlite":
        url, env = None, {"DJANGO_DB_ENGINE": "django.db.backends.sqlite3", "DJANGO_DB_NAME": str(sqlite_path)}
    else:
        url = request.getfixturevalue("pg_database" if dialect == "postgres" else "mariadb_url")
        parts = urlparse(url)
        env = {"DJANGO_DB_ENGINE": "django.db.backends." + ("postgresql" if dialect == "postgres" else "mysql"),
               "DJANGO_DB_NAME": parts.path[1:], "DJANGO_DB_USER": parts.username or "", "DJANGO_DB_PASSWORD": parts.password or "",
               "DJANGO_DB_HOST": parts.hostname, "DJANGO_DB_PORT": str(parts.port)}
    run_module(["django", "migrate", "--run-syncdb", "--settings=config.settings"], project, env={**env, "PYTHONPATH": str(project)})

    source = read_django_models(project, sorted(project.rglob("*.py")), dialect)
    assert source.diagnostics == []
    assert source.table_names["User"].strip('"`') == "auth_user"
    ours = _django_tables(catalog_from_source(source, dialect))
    assert {name.split(".")[-1] for name in ours} == DJANGO_TABLES
    assert ours == _django_tables(live_catalog(dialect, url, sqlite_path))


def test_they_are_added_only_where_the_project_uses_them_and_has_none_of_its_own(tmp_path):
    def tables(models: str, settings: str = SETTINGS) -> set[str]:
        root = write_project(tmp_path / f"p{len(list(tmp_path.iterdir()))}", models, settings)
        source = read_django_models(root, sorted(root.rglob("*.py")), "postgres")
        return {str(name).split(".")[-1].strip('"') for name in catalog_from_source(source, "postgres").tables}

    assert "auth_user" in tables(SHOP_MODELS)
    assert tables("from django.db import models\n\n\nclass Tag(models.Model):\n    name = models.TextField()\n") == {"shop_tag"}
    own_user = SHOP_MODELS + "\n\nclass User(models.Model):\n    name = models.TextField()\n"
    assert not tables(own_user) & DJANGO_TABLES  # the project's own User: Django's are not guessed
    swapped = SETTINGS + 'AUTH_USER_MODEL = "shop.Account"\n'
    found = tables(SHOP_MODELS, swapped)
    assert "auth_user" not in found and "auth_group" in found
