"""UPS202 on the real databases: Django's own get_or_create whose lookup holds the unique
`name` and `locked` besides raises IntegrityError when a role of that name exists unlocked
(PostgreSQL, SQLite, MariaDB); looked up by the key with `locked` in defaults it does not.
The audit flags exactly the first."""

from __future__ import annotations

import json
import subprocess
import sys
from urllib.parse import urlparse

import pytest

from auditor.cli import main
from rules.ups202_get_or_create_lookup_beyond_key import KEY_AND_DEFAULTS, KEY_AND_MORE, GetOrCreateLookupBeyondKey

SCRIPT = """
import django, json, sys
from django.conf import settings
settings.configure(INSTALLED_APPS=["roles"], DATABASES={{"default": {database}}}, DEFAULT_AUTO_FIELD="django.db.models.BigAutoField")
django.setup()
from django.db import connection, IntegrityError
from roles import models
with connection.schema_editor() as editor:
    editor.create_model(models.Role)
models.Role.objects.create(name="admin", locked=False)
try:
    models.ensure_locked("admin")
    print("ok")
except IntegrityError as error:
    cause = error.__cause__ or error  # the driver's error: its code and primary message
    if hasattr(cause, "diag"):
        code, message = cause.sqlstate, cause.diag.message_primary
    elif hasattr(cause, "sqlite_errorname"):
        code, message = cause.sqlite_errorname, str(cause)
    else:
        code, message = cause.args
    print("IntegrityError", json.dumps([str(code), message]))
"""


def database_settings(dialect: str, request, tmp_path) -> str:
    if dialect == "sqlite":
        return repr({"ENGINE": "django.db.backends.sqlite3", "NAME": str(tmp_path / "roles.sqlite3")})
    url = urlparse(request.getfixturevalue("pg_database" if dialect == "postgres" else "mariadb_url"))
    engine = "django.db.backends.postgresql" if dialect == "postgres" else "django.db.backends.mysql"
    return repr({"ENGINE": engine, "NAME": url.path[1:], "USER": url.username or "", "PASSWORD": url.password or "",
                 "HOST": url.hostname, "PORT": str(url.port)})


@pytest.mark.parametrize("dialect", ["postgres", "sqlite", "mysql"])
@pytest.mark.parametrize(("code", "outcome", "flagged"), [(KEY_AND_MORE, "IntegrityError", True), (KEY_AND_DEFAULTS, "ok", False)])
def test_django_fails_exactly_where_the_audit_says(dialect, code, outcome, flagged, request, tmp_path, capsys):
    """The error is the one the rule's invalid example declares for the dialect (its code and
    message, which the rule page prints)."""
    (tmp_path / "roles").mkdir()
    (tmp_path / "roles" / "__init__.py").write_text("")
    (tmp_path / "roles" / "models.py").write_text(code)
    script = SCRIPT.format(database=database_settings(dialect, request, tmp_path))
    if dialect == "mysql":
        script = "import pymysql\npymysql.version_info = (2, 2, 1, 'final', 0)\npymysql.install_as_MySQLdb()\n" + script
    run = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    printed = run.stdout.split(maxsplit=1)
    assert printed[0] == outcome
    if flagged:
        [example] = [e for e in GetOrCreateLookupBeyondKey.examples if not e.valid]
        error_code, message = json.loads(printed[1])
        assert example.error(dialect).matches(error_code, message), f"declared {example.error(dialect)}, got {error_code}: {message}"

    main(["check", str(tmp_path), "--format", "json", "--no-cache", "--dialect", dialect])
    findings = [f["rule"] for f in json.loads(capsys.readouterr().out)["findings"]]
    assert ("UPS202" in findings) is flagged
