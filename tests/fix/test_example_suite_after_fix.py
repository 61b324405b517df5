"""The codemod's proof on real projects: each example's own test suite passes on
PostgreSQL before and after `upsert-audit fix --write`, and the re-audit no longer shows
the idioms that were rewritten (only the one left as a manual fix)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from auditor.cli import main
from auditor.config import load_config
from auditor.engine import run_audit

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def copy(name: str, tmp_path: Path) -> Path:
    project = tmp_path / name
    shutil.copytree(EXAMPLES / name, project, ignore=shutil.ignore_patterns("__pycache__"))
    return project


def run_example_tests(project: Path, database_url: str) -> subprocess.CompletedProcess:
    environment = dict(os.environ, DATABASE_URL=database_url)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=project, env=environment, capture_output=True, text=True, timeout=300,
    )


def rules_found(project: Path) -> list[str]:
    return [f.rule for f in run_audit(load_config(project, cache=False)).findings]


def assert_suite_passes(project: Path, database_url: str, count: int) -> None:
    run = run_example_tests(project, database_url)
    assert run.returncode == 0 and f"{count} passed" in run.stdout, run.stdout + run.stderr


def test_race_app_suite_passes_before_and_after_fix(pg_database, tmp_path):
    project = copy("race_app", tmp_path)
    assert_suite_passes(project, pg_database, 4)
    assert rules_found(project) == ["UPS101", "UPS102", "UPS103", "UPS104"]

    assert main(["fix", str(project), "--write", "--no-cache"]) == 1  # unsafe and manual fixes remain
    assert_suite_passes(project, pg_database, 4)
    assert rules_found(project) == ["UPS102", "UPS103", "UPS104"]

    assert main(["fix", str(project), "--write", "--unsafe-fixes", "--no-cache"]) == 1  # the manual one remains
    store = (project / "race_app" / "store.py").read_text()
    assert store.count("upsert_record(") == 3 and "from auditor.upsert import upsert_record" in store
    assert_suite_passes(project, pg_database, 4)
    assert rules_found(project) == ["UPS102"]  # count_visit: its UPDATE adds to the stored value

    again = (project / "race_app" / "store.py").read_text()
    main(["fix", str(project), "--write", "--unsafe-fixes", "--no-cache"])
    assert (project / "race_app" / "store.py").read_text() == again  # idempotent


@pytest.mark.parametrize("name", ["avatar_app"])
def test_an_example_without_idioms_is_left_alone(name, pg_database, tmp_path):
    project = copy(name, tmp_path)
    before = {p: p.read_bytes() for p in project.rglob("*.py")}
    assert_suite_passes(project, pg_database, 3)
    assert main(["fix", str(project), "--write", "--no-cache"]) == 0
    assert {p: p.read_bytes() for p in project.rglob("*.py")} == before
    assert_suite_passes(project, pg_database, 3)
