"""Django bulk_create upserts are write sites: flagged exactly when Django's own call fails on
the real PostgreSQL (the oracle runs the same bulk_create through Django)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from urllib.parse import urlparse

import pytest

from auditor.cli import main

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "schema"))
from framework_oracle import copy_example, run_module  # noqa: E402

psycopg = pytest.importorskip("psycopg")

SERVICES = '''
from accounts.models import Account
from profiles.models import AvatarConfiguration, Preference


def save_preferences(account):
    Preference.objects.bulk_create([Preference(account=account, key="k", value="v")],
                                   update_conflicts=True, unique_fields=["account", "key"], update_fields=["value"])


def save_avatars(account):
    AvatarConfiguration.objects.bulk_create([AvatarConfiguration(account=account, persona="p")],
                                            update_conflicts=True, unique_fields=["account"], update_fields=["persona"])


def import_avatars(account):
    AvatarConfiguration.objects.bulk_create([AvatarConfiguration(account=account, persona="p")], ignore_conflicts=True)


def plain(account):
    AvatarConfiguration.objects.bulk_create([AvatarConfiguration(account=account, persona="p")])
'''

ORACLE = """
from accounts.models import Account
from profiles import bulk
account = Account.objects.create(email="a@example.com", tenant=1)
for name in ("save_preferences", "save_avatars", "import_avatars"):
    try:
        getattr(bulk, name)(account)
        print(name, "ok")
    except Exception as error:
        print(name, getattr(getattr(error, "__cause__", None), "sqlstate", type(error).__name__))
"""


def test_bulk_create_upserts_match_what_django_does(pg_database, tmp_path, capsys):
    project = copy_example("django_app", tmp_path)
    (project / "profiles" / "bulk.py").write_text(SERVICES)
    assert main(["check", str(project), "--format", "json", "--no-cache"]) == 1
    document = json.loads(capsys.readouterr().out)
    flagged = sorted((f["rule"], f["line"]) for f in document["findings"] if f["path"] == "profiles/bulk.py")
    assert flagged == [("UPS001", 12)]  # save_avatars: (account_id) is not a key

    url = urlparse(pg_database)
    env = {"DJANGO_DB_ENGINE": "django.db.backends.postgresql", "DJANGO_DB_NAME": url.path[1:], "DJANGO_DB_USER": url.username or "",
           "DJANGO_DB_HOST": url.hostname, "DJANGO_DB_PORT": str(url.port or 5432), "PYTHONPATH": str(project)}
    run_module(["django", "migrate", "--settings=config.settings"], project, env=env)
    import os
    import subprocess

    run = subprocess.run([sys.executable, "-m", "django", "shell", "--settings=config.settings", "-c", ORACLE],
                         cwd=project, capture_output=True, text=True, env={**os.environ, **env}, timeout=120)
    assert run.returncode == 0, run.stderr
    outcomes = [line for line in run.stdout.splitlines() if line.split(" ")[0] in ("save_preferences", "save_avatars", "import_avatars")]
    assert outcomes == ["save_preferences ok", "save_avatars 42P10", "import_avatars ok"]


def test_ignore_conflicts_rows_do_not_write_the_generated_id(make_project):
    """bulk_create(ignore_conflicts=True) writes model objects without their id: the row can
    clash only on the model's other unique keys. One such key: UPS012 has nothing to say (it
    did, counting the auto id as a second key: wagtail's renditions were a false positive).
    A peewee model with two keys besides its id still gets UPS012."""
    project = make_project({
        "shop/models.py": """
            from django.db import models

            class Rendition(models.Model):
                image_id = models.IntegerField()
                spec = models.TextField()

                class Meta:
                    constraints = [models.UniqueConstraint(fields=["image_id", "spec"], name="rendition_uniq")]

            def save_all(rows):
                Rendition.objects.bulk_create(rows, ignore_conflicts=True)
            """,
        "stats.py": """
            from peewee import CharField, IntegerField, Model

            class Stat(Model):
                key = CharField(unique=True)
                slug = CharField(unique=True)
                hits = IntegerField()

            def record(rows):
                Stat.insert_many(rows).on_conflict_ignore().execute()
            """,
        "pyproject.toml": '[tool.upsert-audit]\ndialect = "postgres"\n',
    })
    from auditor.config import load_config
    from auditor.engine import run_audit

    result = run_audit(load_config(project, cache=False))
    assert [(f.rule, f.location.path) for f in result.findings if f.rule == "UPS012"] == [("UPS012", "stats.py")]
    [django_site] = [s for s in result.sites if s.location.path == "shop/models.py"]
    assert django_site.statement.columns == ("image_id", "spec")  # every column but the generated id


def test_a_uuid4_primary_key_is_not_a_key_new_rows_clash_on(make_project):
    """A primary key the application fills with uuid4 is like an auto id: each new object's
    is its own, so with one other unique key UPS012 has nothing to say (issue 17), for Django
    and for peewee. Given as a value (`default=uuid4()`, one uuid for every row) it is a key."""
    models = """
        import uuid
        from django.db import models

        class Device(models.Model):
            id = models.UUIDField(primary_key=True, default={DEFAULT})
            serial = models.TextField(unique=True)

        def register(rows):
            Device.objects.bulk_create(rows, ignore_conflicts=True)
        """
    peewee = """
        import uuid
        from peewee import CharField, Model, UUIDField

        class Token(Model):
            id = UUIDField(primary_key=True, default={DEFAULT})
            value = CharField(unique=True)

        def issue(rows):
            Token.insert_many(rows).on_conflict_ignore().execute()
        """
    from auditor.config import load_config
    from auditor.engine import run_audit

    flagged = {}
    for default in ("uuid.uuid4", "uuid.uuid4()"):
        project = make_project({
            "shop/models.py": models.replace("{DEFAULT}", default),
            "tokens.py": peewee.replace("{DEFAULT}", default),
            "pyproject.toml": '[tool.upsert-audit]\ndialect = "postgres"\n',
        })
        result = run_audit(load_config(project, cache=False))
        flagged[default] = sorted(f.location.path for f in result.findings if f.rule == "UPS012")
    assert flagged == {"uuid.uuid4": [], "uuid.uuid4()": ["shop/models.py", "tokens.py"]}


def test_django_fills_a_uuid4_primary_key_per_object(tmp_path):
    """The oracle: Django's own bulk_create(ignore_conflicts=True) on SQLite gives each new
    object its own id, so only the serial can make a row be skipped."""
    import subprocess

    (tmp_path / "devices").mkdir()
    (tmp_path / "devices" / "__init__.py").write_text("")
    (tmp_path / "devices" / "models.py").write_text(
        "import uuid\nfrom django.db import models\n\n"
        "class Device(models.Model):\n"
        "    id = models.UUIDField(primary_key=True, default=uuid.uuid4)\n"
        "    serial = models.TextField(unique=True)\n"
    )
    script = f"""
import django
from django.conf import settings
settings.configure(INSTALLED_APPS=["devices"], DATABASES={{"default": {{"ENGINE": "django.db.backends.sqlite3", "NAME": r"{tmp_path / 'db.sqlite3'}"}}}})
django.setup()
from django.db import connection
from devices.models import Device
with connection.schema_editor() as editor:
    editor.create_model(Device)
Device.objects.bulk_create([Device(serial="a"), Device(serial="b")], ignore_conflicts=True)
Device.objects.bulk_create([Device(serial="a"), Device(serial="c")], ignore_conflicts=True)
print(sorted(Device.objects.values_list("serial", flat=True)), Device.objects.values("id").distinct().count())
"""
    run = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["['a',", "'b',", "'c']", "3"]
