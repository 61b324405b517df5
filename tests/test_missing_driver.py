"""A live-database command without its driver names the extra that installs it (exit 2).

The CLI runs in a subprocess whose Python cannot import the driver: a sitecustomize.py on
PYTHONPATH puts an import hook first on sys.meta_path that answers as if the package were not
installed. No database is reached: the driver is needed before any connection.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from auditor.schema.driver import DRIVERS, missing_driver_message

BLOCKER = '''
import os
import sys


class NotInstalled:
    """Finds the blocked top-level packages first and answers as pip would have left them: absent."""

    blocked = set(os.environ["UPSERT_AUDIT_TEST_BLOCK"].split(","))

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in self.blocked:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, NotInstalled())
'''

APP = "import psycopg\n\ndef save(cur):\n    cur.execute('INSERT INTO prefs (user_id) VALUES (1) ON CONFLICT (user_id) DO NOTHING')\n"


def run_without(tmp_path, module: str, *argv: str) -> subprocess.CompletedProcess:
    hook = tmp_path / "hook"
    hook.mkdir(exist_ok=True)
    (hook / "sitecustomize.py").write_text(BLOCKER)
    env = dict(os.environ, UPSERT_AUDIT_TEST_BLOCK=module,
               PYTHONPATH=os.pathsep.join(filter(None, [str(hook), os.environ.get("PYTHONPATH")])))
    return subprocess.run([sys.executable, *argv], capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)


@pytest.mark.parametrize("url, command, module, extra, database, package", [
    ("postgresql://app:s3cr3t-pw@127.0.0.1:5432/shop", "verify", "psycopg", "postgres", "PostgreSQL", "psycopg"),
    ("postgres://app:s3cr3t-pw@127.0.0.1:5432/shop", "check", "psycopg", "postgres", "PostgreSQL", "psycopg"),
    ("mysql://app:s3cr3t-pw@127.0.0.1:3306/shop", "check", "pymysql", "mysql", "MySQL/MariaDB", "PyMySQL"),
    ("mariadb://app:s3cr3t-pw@127.0.0.1:3306/shop", "verify", "pymysql", "mysql", "MySQL/MariaDB", "PyMySQL"),
])
def test_a_missing_driver_names_its_extra(tmp_path, url, command, module, extra, database, package):
    # The hook works: this Python really cannot import the driver.
    probe = run_without(tmp_path, module, "-c", f"import {module}")
    assert probe.returncode == 1 and f"No module named '{module}'" in probe.stderr

    project = tmp_path / "project"
    project.mkdir()
    (project / "app.py").write_text(APP)
    run = run_without(tmp_path, module, "-m", "auditor", command, str(project), "--database-url", url)
    scheme = url.split("://")[0]
    assert run.returncode == 2, run.stderr
    assert f"upsert-audit: reading {scheme}://… needs the {database} driver ({package}): pip install 'upsert-audit[{extra}]'" in run.stderr.splitlines()
    assert "Traceback" not in run.stderr and "No module named" not in run.stderr and "s3cr3t-pw" not in run.stderr + run.stdout


def test_every_live_dialect_has_a_driver_whose_extra_pyproject_declares():
    import tomllib
    from pathlib import Path

    extras = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    for driver in DRIVERS.values():
        assert any(requirement.lower().startswith(driver.package.lower()) for requirement in extras[driver.extra])


def test_an_installed_driver_that_cannot_be_imported_says_so():
    """psycopg without a libpq raises ImportError itself: that is not "not installed"."""
    message = missing_driver_message(DRIVERS["postgres"], "postgresql://u:pw@h/db", ImportError("no pq wrapper available.\nAttempts: ..."))
    assert message == ("reading postgresql://… needs the PostgreSQL driver (psycopg), which is installed but cannot be imported "
                       "(no pq wrapper available.): pip install 'upsert-audit[postgres]' installs a working one")
    dependency = ModuleNotFoundError("No module named 'typing_extensions'", name="typing_extensions")
    assert "installed but cannot be imported" in missing_driver_message(DRIVERS["mysql"], "", dependency)
    assert missing_driver_message(DRIVERS["mysql"], "", ModuleNotFoundError("x", name="pymysql")) == (
        "reading a MySQL/MariaDB database needs the MySQL/MariaDB driver (PyMySQL): pip install 'upsert-audit[mysql]'")
