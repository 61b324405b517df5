"""`--format gitlab` and `--format junit`, validated against the published formats.

JUnit: the Jenkins xunit plugin's junit-10.xsd, the schema pytest checks its own XML against. It
is in no wheel, only in pytest's sdist, so the test session downloads that sdist from the package
index (pip, with the machine's index configuration) and caches the XSD per pytest version; it is
never copied into this repository. GitLab: the documented field table, as a JSON Schema (GitLab's
own parser schema, app/validators/json_schemas/codeclimate.json, asks less: no check_name, any
severity; gitlab.com is out of this project's machines' reach, so it is not fetched).
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import tarfile
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
import xmlschema
from conftest import IN_CI

from auditor.cli import main
from auditor.config import load_config
from auditor.engine import run_audit
from auditor.model import Diagnostic, Severity
from auditor.output.gitlab import render_gitlab
from auditor.output.junit import render_junit
from auditor.output.sarif import render_sarif

SCHEMA = "CREATE TABLE t (id int PRIMARY KEY, k text, v text);\n"
BAD = "cur.execute(\"INSERT INTO t (id, k) VALUES (1, 'a') ON CONFLICT (k) DO NOTHING\")\n"  # UPS001, an error
GOOD = "cur.execute(\"INSERT INTO t (id, k) VALUES (1, 'a') ON CONFLICT (id) DO NOTHING\")\n"
DYNAMIC = "def save(cur, table):\n    cur.execute(f'INSERT INTO {table} (k) VALUES (1)')\n"  # not checked: a parameter
GONE = "cur.execute(\"INSERT INTO gone (k) VALUES ('a')\")\n"  # not checked: no such table

# The table "Code Quality report format" at
# https://docs.gitlab.com/ci/testing/code_quality/#code-quality-report-format, as a JSON Schema:
# "a single JSON array", each object with at least these properties, of these types. The optional
# fields (type, categories, content.body, location.lines.end) are typed as the Code Climate spec
# the page points to defines them (https://github.com/codeclimate/platform/blob/master/spec/analyzers/SPEC.md).
GITLAB_DOCUMENTED = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "array",
    "items": {
        "type": "object",
        "required": ["description", "check_name", "fingerprint", "severity", "location"],
        "properties": {
            "description": {"type": "string"},
            "check_name": {"type": "string"},
            "fingerprint": {"type": "string"},
            "severity": {"enum": ["info", "minor", "major", "critical", "blocker"]},
            "location": {
                "type": "object",
                "required": ["path"],
                "properties": {
                    "path": {"type": "string"},
                    "lines": {"type": "object", "properties": {"begin": {"type": "integer"}, "end": {"type": "integer"}}},
                    "positions": {"type": "object", "properties": {"begin": {"type": "object", "properties": {"line": {"type": "integer"}}}}},
                },
                # `location.lines.begin` or `location.positions.begin.line`
                "anyOf": [
                    {"required": ["lines"], "properties": {"lines": {"required": ["begin"]}}},
                    {"required": ["positions"], "properties": {"positions": {"required": ["begin"], "properties": {"begin": {"required": ["line"]}}}}},
                ],
            },
            "type": {"const": "issue"},
            "categories": {"type": "array", "minItems": 1, "items": {"enum": [
                "Bug Risk", "Clarity", "Compatibility", "Complexity", "Duplication", "Performance", "Security", "Style",
            ]}},
            "content": {"type": "object", "properties": {"body": {"type": "string"}}},
        },
    },
}

def _unreachable(what: str, error: Exception):
    """As tests/conftest.py does for the databases: skip on a developer machine, fail in CI."""
    message = f"{what} could not be fetched: {error}"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def published_cache(pytestconfig, tmp_path_factory) -> Path:
    """Where fetched schemas are kept between runs (pytest's cache), so later runs are offline."""
    cache = getattr(pytestconfig, "cache", None)
    return cache.mkdir("upsert-audit-published-schemas") if cache else tmp_path_factory.mktemp("published-schemas")


def _atomic_write(path: Path, data: bytes) -> Path:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return path


def _download_junit_xsd(version: str) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        run = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", f"pytest=={version}", "-d", tmp],
            capture_output=True, text=True, timeout=600,
        )
        if run.returncode:
            raise RuntimeError(f"pip download exited {run.returncode}: {run.stderr.strip()[-1500:]}")
        [sdist] = Path(tmp).glob("pytest-*.tar.gz")
        with tarfile.open(sdist) as tar:
            [member] = [m for m in tar.getmembers() if m.name.endswith("/testing/example_scripts/junit-10.xsd")]
            return tar.extractfile(member).read()


@pytest.fixture(scope="session")
def junit_xsd(published_cache):
    """The published junit-10.xsd, from the sdist of the pytest that runs these tests."""
    version = pytest.__version__
    cached = published_cache / f"junit-10-from-pytest-{version}.xsd"
    if not cached.is_file():
        try:
            _atomic_write(cached, _download_junit_xsd(version))
        except Exception as error:  # no index, no sdist, no member: the same verdict
            _unreachable(f"junit-10.xsd (pytest {version} sdist)", error)
    return xmlschema.XMLSchema10(str(cached))


@pytest.fixture
def project(make_project):
    return make_project({
        "schema.sql": SCHEMA,
        "app.py": "import psycopg\n" + BAD + GONE + DYNAMIC,
        "broken.py": "cur.execute(\n",
    })


def audit(root):
    return run_audit(load_config(root))


def check(capsys, root, fmt, *flags) -> tuple[int, str]:
    code = main(["check", str(root), "--format", fmt, "--no-cache", *flags])
    return code, capsys.readouterr().out


# --- GitLab Code Quality ---------------------------------------------------------------------


def test_gitlab_report_is_valid_against_the_documented_format(project):
    report = json.loads(render_gitlab(audit(project)))
    jsonschema.Draft202012Validator(GITLAB_DOCUMENTED).validate(report)
    assert len({issue["fingerprint"] for issue in report}) == len(report)  # GitLab keeps one issue per fingerprint


def test_gitlab_finding_has_rule_path_line_severity_and_the_sarif_fingerprint(project):
    result = audit(project)
    report = json.loads(render_gitlab(result))
    [issue] = [i for i in report if i["check_name"] == "UPS001"]
    assert issue["severity"] == "critical"  # an error: the database rejects it on every run
    assert issue["location"] == {"path": "app.py", "lines": {"begin": 2}}
    assert issue["description"].startswith("ON CONFLICT (k) matches no")
    assert "**Fix** (migration)" in issue["content"]["body"] and "CREATE UNIQUE INDEX" in issue["content"]["body"]
    [sarif] = [r for r in json.loads(render_sarif(result))["runs"][0]["results"] if r["ruleId"] == "UPS001"]
    assert issue["fingerprint"] == sarif["partialFingerprints"]["upsertAudit/v1"]
    assert issue["type"] == "issue" and issue["categories"] == ["Bug Risk"]


def test_gitlab_severities_follow_ours(make_project):
    race = (
        "import psycopg\n"
        "def add(cur, k):\n"
        "    cur.execute('SELECT 1 FROM t WHERE k = %s', (k,))\n"
        "    if cur.fetchone() is None:\n"
        "        cur.execute('INSERT INTO t (id, k) VALUES (1, %s)', (k,))\n"
    )
    report = json.loads(render_gitlab(audit(make_project({"schema.sql": SCHEMA, "app.py": race + GONE}))))
    assert {i["check_name"]: i["severity"] for i in report if i["check_name"].startswith("UPS")} == {"UPS101": "major", "UPS901": "info"}


def test_gitlab_fingerprint_survives_lines_added_above(project):
    before = {i["check_name"]: i for i in json.loads(render_gitlab(audit(project)))}
    (project / "app.py").write_text("import psycopg\n\n\n# moved down\n" + BAD + GONE + DYNAMIC)
    after = {i["check_name"]: i for i in json.loads(render_gitlab(audit(project)))}
    assert after["UPS001"]["location"]["lines"]["begin"] == before["UPS001"]["location"]["lines"]["begin"] + 3
    assert {k: i["fingerprint"] for k, i in after.items()} == {k: i["fingerprint"] for k, i in before.items()}


def test_gitlab_two_copies_of_one_finding_are_two_issues(make_project):
    report = json.loads(render_gitlab(audit(make_project({"schema.sql": SCHEMA, "app.py": "import psycopg\n" + BAD + BAD}))))
    fingerprints = [i["fingerprint"] for i in report if i["check_name"] == "UPS001"]
    assert len(fingerprints) == 2 and fingerprints[0].split(":")[0] == fingerprints[1].split(":")[0]
    assert sorted(fp.split(":")[1] for fp in fingerprints) == ["0", "1"]


def test_gitlab_shows_what_was_not_checked(project):
    report = json.loads(render_gitlab(audit(project)))
    unchecked = [i for i in report if i["check_name"] == "upsert-audit/unchecked"]
    assert sorted(i["description"] for i in unchecked) == [
        "1 write site(s) not checked: table … is not in the schema",
        "1 write site(s) not checked: the table … is not known (name … is a function parameter)",
    ]
    assert {i["severity"] for i in unchecked} == {"info"}
    parameter = next(i for i in unchecked if "parameter" in i["description"])
    assert parameter["location"] == {"path": "app.py", "lines": {"begin": 5}}
    assert "to resolve:" in parameter["content"]["body"] and "sinks" in parameter["content"]["body"]
    [unread] = [i for i in report if i["check_name"] == "upsert-audit/syntax-error"]
    assert unread["severity"] == "minor" and unread["location"]["path"] == "broken.py"


def test_gitlab_paths_are_relative_with_forward_slashes(make_project):
    report = json.loads(render_gitlab(audit(make_project({"db/schema.sql": SCHEMA, "pkg/sub/app.py": "import psycopg\n" + BAD}))))
    assert [i["location"]["path"] for i in report] == ["pkg/sub/app.py"]


# --- JUnit XML -------------------------------------------------------------------------------


def test_junit_is_valid_against_the_published_junit_10_xsd(project, junit_xsd):
    junit_xsd.validate(render_junit(audit(project)))


def test_junit_failure_per_finding_with_message_fix_and_location(project):
    result = audit(project)
    root = ET.fromstring(render_junit(result))
    suite = root.find("testsuite[@name='UPS001 conflict-target-not-unique']")
    [case] = suite.findall("testcase")
    [fingerprint] = [f["fingerprint"] for f in json.loads(render_gitlab(result)) if f["check_name"] == "UPS001"]
    assert case.get("classname") == "upsert-audit.UPS001"
    assert case.get("name") == f"app.py [{fingerprint}]"
    failure = case.find("failure")
    assert failure.get("message").startswith("app.py:2:1: UPS001 [error] conflict-target-not-unique: ON CONFLICT (k)")
    assert failure.get("type") == "error"
    assert "fix (migration):" in failure.text and "CREATE UNIQUE INDEX" in failure.text
    assert f"fingerprint: {fingerprint}" in failure.text


def test_junit_counts_add_up(project):
    root = ET.fromstring(render_junit(audit(project)))
    for suite in root.findall("testsuite"):
        cases = suite.findall("testcase")
        assert int(suite.get("tests")) == len(cases)
        assert int(suite.get("failures")) == sum(c.find("failure") is not None for c in cases)
        assert int(suite.get("skipped")) == sum(c.find("skipped") is not None for c in cases)
        assert suite.get("errors") == "0"
    assert int(root.get("tests")) == len(root.findall("testsuite/testcase")) == 6
    assert int(root.get("failures")) == len(root.findall("testsuite/testcase/failure")) == 1  # UPS001; UPS901/902 are info


def test_junit_fails_exactly_the_findings_that_fail_the_run(project):
    result = audit(project)
    root = ET.fromstring(render_junit(result))
    failed = {c.get("classname") for c in root.iter("testcase") if c.find("failure") is not None}
    passed = {c.get("classname"): c.find("system-out").text for c in root.iter("testcase") if c.find("system-out") is not None}
    assert failed == {f"upsert-audit.{f.rule}" for f in result.failing} == {"upsert-audit.UPS001"}
    assert set(passed) == {"upsert-audit.UPS901", "upsert-audit.UPS902"}
    assert all(text.startswith("info (below fail-on): ") for text in passed.values())

    info_fails = dataclasses.replace(result, config=dataclasses.replace(result.config, fail_on=Severity.INFO))
    root = ET.fromstring(render_junit(info_fails))
    assert int(root.get("failures")) == 3


def test_junit_shows_what_was_not_checked_as_skipped(project):
    root = ET.fromstring(render_junit(audit(project)))
    suite = root.find("testsuite[@name='upsert-audit: not checked']")
    skipped = {c.get("name"): c.find("skipped") for c in suite.findall("testcase")}
    reason = skipped["write site(s): table … is not in the schema"]
    assert reason.get("message") == "1 write site(s) not checked: table … is not in the schema"
    assert reason.text.startswith("at app.py:3:1\nto resolve: ")
    [unread] = [s for name, s in skipped.items() if name.startswith("broken.py [")]
    assert unread.get("type") == "syntax-error" and "broken.py:1" in unread.text
    assert suite.get("skipped") == str(len(skipped)) == "3" and suite.get("failures") == "0"


def test_junit_test_names_survive_lines_added_above(project):
    def names():
        return sorted((c.get("classname"), c.get("name")) for c in ET.fromstring(render_junit(audit(project))).iter("testcase"))

    before = names()
    (project / "app.py").write_text("import psycopg\n\n\n# moved down\n" + BAD + GONE + DYNAMIC)
    assert names() == before


def test_junit_survives_control_characters_and_cdata_ends(project, junit_xsd):
    result = audit(project)
    hostile = "bell\x07 nul\x00 esc\x1b ]]> <tag> & \"quoted\" \ud800 \ufffe end"
    result.findings = [dataclasses.replace(f, message=hostile, fix=hostile, fix_code=hostile) for f in result.findings]
    result.diagnostics = [Diagnostic("odd\x01name.py", hostile, 1, "syntax-error")]
    text = render_junit(result)
    junit_xsd.validate(text)
    failure = ET.fromstring(text).find(".//failure")
    assert "bell\\x07 nul\\x00 esc\\x1b ]]> <tag> & \"quoted\" \\ud800 \\ufffe end" in failure.text
    assert text.isascii()
    report = json.loads(render_gitlab(result))  # and the GitLab report stays JSON
    jsonschema.Draft202012Validator(GITLAB_DOCUMENTED).validate(report)
    assert report[0]["description"] == hostile


# --- Both, through the command line ----------------------------------------------------------

FORMATS = ("text", "json", "sarif", "gitlab", "junit")


@pytest.mark.parametrize(
    "files, code",
    [
        ({"schema.sql": SCHEMA, "app.py": "import psycopg\n" + BAD}, 1),  # a finding
        ({"schema.sql": SCHEMA, "app.py": "import psycopg\n" + GOOD}, 0),  # clean
        ({"app.py": "import psycopg\n" + BAD}, 2),  # write sites, no schema: silent is not clean
    ],
    ids=["finding", "clean", "no-schema"],
)
def test_exit_codes_are_the_same_in_every_format(make_project, capsys, files, code):
    root = make_project(files)
    assert [check(capsys, root, fmt)[0] for fmt in FORMATS] == [code] * len(FORMATS)


def test_fail_on_and_baseline_apply_to_the_ci_formats(project, capsys):
    assert check(capsys, project, "gitlab", "--fail-on", "error")[0] == 1
    assert check(capsys, project, "junit", "--select", "UPS9")[0] == 0  # only info findings left
    baseline = project / "baseline.json"
    check(capsys, project, "json", "--baseline", str(baseline))
    code, out = check(capsys, project, "gitlab", "--baseline", str(baseline))
    assert code == 0 and not [i for i in json.loads(out) if i["check_name"].startswith("UPS")]


def test_an_empty_project_gives_valid_empty_reports(make_project, capsys, junit_xsd):
    root = make_project({"README.md": "nothing to audit\n"})
    code, out = check(capsys, root, "gitlab")
    assert code == 0 and json.loads(out) == []
    jsonschema.Draft202012Validator(GITLAB_DOCUMENTED).validate(json.loads(out))
    code, out = check(capsys, root, "junit")
    assert code == 0
    junit_xsd.validate(out)
    tree = ET.fromstring(out)
    assert (tree.get("tests"), tree.get("failures"), tree.get("errors"), list(tree)) == ("0", "0", "0", [])
