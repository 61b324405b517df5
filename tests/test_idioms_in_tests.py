"""Race idioms in test code are not read by default: tests run one writer at a time against a
throwaway database, so a check-then-insert there is not a race of the application. Not
reading them is counted and shown (silent is not clean); `idioms-in-tests = true` reads
them. The SQL test code runs is still a write site."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from auditor.config import ConfigError, load_config
from auditor.engine import run_audit
from auditor.python.files import is_test_file

RACE = (
    "from shop.models import Tag\n\n\ndef tag(name):\n"
    "    if not Tag.objects.filter(name=name).exists():\n        Tag.objects.create(name=name)\n"
)
PROJECT = {
    "shop/__init__.py": "",
    "shop/models.py": "from django.db import models\n\n\nclass Tag(models.Model):\n    name = models.CharField(max_length=20)\n",
    "shop/views.py": RACE,
    "shop/tests/test_tags.py": RACE,
    "tests/test_sql.py": (
        "import psycopg\n\n\ndef test_upsert(conn):\n"
        "    conn.execute(\"INSERT INTO shop_tag (name) VALUES ('a') ON CONFLICT (name) DO NOTHING\")\n"
    ),
}


def _idiom_paths(result) -> set[str]:
    return {site.call.location.path for site in [*result.idiom_sites, *result.unchecked_idioms]}


@pytest.mark.parametrize(("path", "test"), [
    ("tests/test_x.py", True), ("app/tests/helpers.py", True), ("app/test/x.py", True), ("app/test_views.py", True),
    ("app/views_test.py", True), ("conftest.py", True), ("app/utilities/testing/utils.py", True),
    ("app/testing.py", False), ("app/contest.py", False), ("latest/x.py", False),
])
def test_what_is_test_code(path, test):
    assert is_test_file(path) is test


def test_idioms_in_test_files_are_counted_not_read(make_project):
    root = make_project(PROJECT)
    result = run_audit(load_config(root))
    assert _idiom_paths(result) == {"shop/views.py"}
    assert result.summary.tests_without_idioms == 2  # both test files: neither's idioms were read
    assert [s.call.location.path for s in result.sites] == ["tests/test_sql.py"]  # its SQL still is
    assert {f.location.path for f in result.findings if f.rule == "UPS101"} == {"shop/views.py"}


def test_idioms_in_tests_true_reads_them(make_project):
    root = make_project({**PROJECT, "pyproject.toml": "[tool.upsert-audit]\nidioms-in-tests = true\n"})
    result = run_audit(load_config(root))
    assert _idiom_paths(result) == {"shop/views.py", "shop/tests/test_tags.py"}
    assert result.summary.tests_without_idioms == 0


def test_the_flag_and_the_terminal_line(make_project):
    root = make_project(PROJECT)
    default = subprocess.run([sys.executable, "-m", "auditor", "check", str(root), "--no-cache"], capture_output=True, text=True)
    assert "Race idioms in 2 test file(s) not read (idioms-in-tests = true reads them)." in default.stdout
    flagged = subprocess.run([sys.executable, "-m", "auditor", "check", str(root), "--no-cache", "--idioms-in-tests", "--format", "json"], capture_output=True, text=True)
    report = json.loads(flagged.stdout)
    assert report["summary"]["tests_without_idioms"] == 0
    assert any(site["path"] == "shop/tests/test_tags.py" for site in report["sites"])


def test_a_bad_value_is_an_error_that_names_the_key(make_project):
    root = make_project({"pyproject.toml": "[tool.upsert-audit]\nidioms-in-tests = \"yes\"\n", "a.py": ""})
    with pytest.raises(ConfigError, match="idioms-in-tests"):
        load_config(root)
