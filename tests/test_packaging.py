"""The built wheel carries rules/ and templates/ inside `auditor` and works on its own.

Builds the wheel, installs it into a fresh virtualenv outside the repository and
runs the CLI there on a copy of the example project.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(REPO)],
        check=True, capture_output=True, text=True,
    )
    [built] = out.glob("upsert_audit-*.whl")
    return built


def test_wheel_ships_rules_and_templates_inside_auditor(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    rule_files = [n for n in names if n.startswith("auditor/_rules/ups") and n.endswith(".py")]
    assert len(rule_files) >= 6
    assert "auditor/_templates/report.md.j2" in names
    top_level = {n.split("/")[0] for n in names}
    assert "rules" not in top_level and "templates" not in top_level
    assert all(t == "auditor" or t.endswith(".dist-info") for t in top_level), top_level


def test_installed_wheel_runs_on_the_example(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(wheel)],
        capture_output=True, text=True,
    )
    assert pip.returncode == 0, pip.stderr
    project = tmp_path / "avatar_app"
    shutil.copytree(REPO / "examples" / "avatar_app", project)
    cli = str(venv / "bin" / "upsert-audit")

    check = subprocess.run([cli, "check", str(project), "--format", "json"], capture_output=True, text=True, cwd=tmp_path)
    assert check.returncode == 1, check.stderr
    assert [f["rule"] for f in json.loads(check.stdout)["findings"]] == ["UPS001"]

    report = subprocess.run([cli, "report", str(project), "-o", "report.md"], capture_output=True, text=True, cwd=tmp_path)
    assert report.returncode == 1, report.stderr
    assert "conflict-target-not-unique" in (tmp_path / "report.md").read_text()

    rules = subprocess.run([cli, "rules"], capture_output=True, text=True, cwd=tmp_path)
    assert rules.returncode == 0 and "UPS006" in rules.stdout

    # No top-level `rules` package was installed (the name belongs to a Django package).
    probe = subprocess.run([str(venv / "bin" / "python"), "-c", "import rules"], capture_output=True, text=True, cwd=tmp_path)
    assert probe.returncode != 0 and "No module named 'rules'" in probe.stderr
