"""The command line, end to end on real files: findings, exit codes, formats, bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from auditor.cli import main

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "avatar_app"

INCIDENT_SCHEMA = """
CREATE TABLE avatar_configurations (
    id serial PRIMARY KEY,
    user_id int NOT NULL,
    persona text
);
"""
INCIDENT_CODE = '''
import psycopg

def save(conn, user_id, persona):
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO avatar_configurations (user_id, persona) VALUES (%s, %s) "
            "ON CONFLICT (user_id) DO UPDATE SET persona = EXCLUDED.persona",
            (user_id, persona),
        )
'''


def run(args: list[str], capsys) -> tuple[int, str, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def check_json(path: Path, capsys, *extra: str) -> tuple[int, dict]:
    code, out, _ = run(["check", str(path), "--format", "json", *extra], capsys)
    return code, json.loads(out)


def line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


# --- the bundled example: the incident is found, the correct upserts stay silent ---


def test_example_reports_exactly_the_incident(capsys):
    code, doc = check_json(EXAMPLE, capsys)
    assert code == 1
    [finding] = doc["findings"]
    storage = EXAMPLE / "avatar_app" / "storage.py"
    assert finding["rule"] == "UPS001"
    assert finding["severity"] == "error"
    assert finding["path"] == "avatar_app/storage.py"
    assert finding["line"] == line_of(storage, "cur.execute(")
    assert finding["table"] == "public.avatar_configurations"
    # The SQL was written in another module: that is the related location.
    assert finding["sql_origin"]["path"] == "avatar_app/queries.py"
    assert finding["sql_origin"]["line"] == line_of(EXAMPLE / "avatar_app" / "queries.py", "SAVE_AVATAR_CONFIGURATION = (") + 1
    # Schema evidence cites where the existing key was defined.
    origins = {(e["origin"] or {}).get("path") for e in finding["evidence"]}
    assert "migrations/002_create_avatar_configurations.sql" in origins


def test_example_summary_counts_every_write_site(capsys):
    _, doc = check_json(EXAMPLE, capsys)
    summary = doc["summary"]
    # save_avatar_configuration, set_preference, register_user, issue_token, revoke_tokens;
    # the SELECT and the SQL in the log message are not write sites.
    assert summary["write_sites"] == 5
    assert summary["resolved"] == 5
    assert summary["checked"] == 5
    assert summary["unresolved"] == 0
    assert summary["unknown_tables"] == []
    assert summary["schema_files"] == 4
    assert doc["dialect"] == "postgres"


def test_text_output_names_place_rule_and_evidence(capsys):
    code, out, _ = run(["check", str(EXAMPLE)], capsys)
    assert code == 1
    line = line_of(EXAMPLE / "avatar_app" / "storage.py", "cur.execute(")
    assert f"avatar_app/storage.py:{line}:" in out
    assert "UPS001 [error] conflict-target-not-unique" in out
    assert "migrations/002_create_avatar_configurations.sql:" in out
    assert "5 write site(s) found; 5 resolved to a known table; 5 checked" in out


def test_python_dash_m_auditor_runs_the_cli():
    proc = subprocess.run(
        [sys.executable, "-m", "auditor", "check", str(EXAMPLE), "--format", "json"],
        capture_output=True, text=True, cwd=REPO,
    )
    assert proc.returncode == 1, proc.stderr
    assert [f["rule"] for f in json.loads(proc.stdout)["findings"]] == ["UPS001"]


def test_report_is_written_with_every_section(make_project, tmp_path, capsys):
    output = tmp_path / "upsert-audit-report.md"
    code, _, err = run(["report", str(EXAMPLE), "-o", str(output)], capsys)
    assert code == 1
    report = output.read_text()
    for heading in ("# upsert-audit report: avatar_app", "## Summary", "## Coverage", "## Findings", "## How to fix all of these"):
        assert heading in report
    assert "| UPS001 | `conflict-target-not-unique` | error | 1 |" in report
    assert "| Write sites found | 5 |" in report
    assert "cur.execute(" in report  # the code excerpt
    assert "migrations/002_create_avatar_configurations.sql:" in report  # evidence with its source
    assert "CREATE UNIQUE INDEX" in report  # the recommended fix
    # the migration `upsert-audit migrate` would write, in full; the report writes no migration
    assert "**Generated migration** (`upsert-audit migrate` writes it as `011_add_unique_avatar_configurations_user_id.sql`" in report
    assert "INSERT INTO \"public\".\"avatar_configurations_dedup_archive\"" in report
    assert not (EXAMPLE / "migrations" / "011_add_unique_avatar_configurations_user_id.sql").exists()
    assert "Wrote" in err
    assert not list(tmp_path.glob(".*.tmp"))  # written atomically, nothing left behind


# --- clean, findings, errors: exit codes 0 / 1 / 2 ---


def test_clean_project_exits_0(make_project, tmp_path, capsys):
    fixed = INCIDENT_SCHEMA.replace("user_id int NOT NULL", "user_id int NOT NULL UNIQUE")
    project = make_project({"schema.sql": fixed, "app/store.py": INCIDENT_CODE})
    code, doc = check_json(project, capsys)
    assert code == 0
    assert doc["findings"] == []
    assert doc["summary"]["checked"] == 1


def test_incident_in_a_fresh_project_exits_1(make_project, tmp_path, capsys):
    project = make_project({"schema.sql": INCIDENT_SCHEMA, "app/store.py": INCIDENT_CODE})
    code, doc = check_json(project, capsys)
    assert code == 1
    assert [(f["rule"], f["path"], f["line"]) for f in doc["findings"]] == [("UPS001", "app/store.py", 6)]


def test_missing_schema_is_reported_and_never_clean(make_project, tmp_path, capsys):
    project = make_project({"app/store.py": INCIDENT_CODE})
    code, out, _ = run(["check", str(project)], capsys)
    assert code == 2
    assert "no schema found" in out
    _, doc = check_json(project, capsys)
    assert doc["summary"]["write_sites"] == 1
    assert doc["summary"]["checked"] == 0
    assert doc["summary"]["unknown_tables"] == ["avatar_configurations"]


def test_schema_flag_overrides_discovery(make_project, tmp_path, capsys):
    fixed = INCIDENT_SCHEMA.replace("user_id int NOT NULL", "user_id int NOT NULL UNIQUE")
    project = make_project({"db/old.sql": INCIDENT_SCHEMA, "elsewhere/fixed.sql": fixed, "app/store.py": INCIDENT_CODE},
    )
    code, doc = check_json(project, capsys, "--schema", str(project / "elsewhere"))
    assert code == 0
    assert doc["schema_sources"] == ["elsewhere/fixed.sql"]
    code, doc = check_json(project, capsys, "--schema", str(project / "db" / "old.sql"))
    assert code == 1
    assert doc["schema_sources"] == ["db/old.sql"]


def test_bad_input_gives_diagnostics_and_the_audit_goes_on(make_project, tmp_path, capsys):
    project = make_project({
            "schema.sql": INCIDENT_SCHEMA + "\nCREATE TABLE broken (;\n",
            "app/store.py": INCIDENT_CODE,
            "app/broken.py": "def f(:\n    cur.execute('INSERT INTO t VALUES (1)')\n",
            "app/latin1.py": b"# no coding line\ns = '\xe9\xff'\ncur.execute('INSERT INTO t VALUES (1)')\n",
            "app/weird_sql.py": "import psycopg\ncur.execute('INSERT INTO avatar_configurations VALUES (((')\n",
        },
    )
    code, doc = check_json(project, capsys)
    assert code == 1
    assert [(f["rule"], f["path"]) for f in doc["findings"]] == [("UPS001", "app/store.py"), ("UPS902", "app/weird_sql.py")]
    kinds = {(d["path"], d["kind"]) for d in doc["diagnostics"]}
    assert ("app/broken.py", "syntax-error") in kinds
    assert ("app/latin1.py", "decode-error") in kinds
    assert ("app/weird_sql.py", "sql-parse-error") in kinds
    assert ("schema.sql", "sql-parse-error") in kinds
    assert doc["summary"]["unparsed"] == 1


def test_bad_configuration_exits_2_naming_the_key(make_project, tmp_path, capsys):
    project = make_project({"pyproject.toml": "[tool.upsert-audit]\nfail_on = 'x'\n"})
    code, _, err = run(["check", str(project)], capsys)
    assert code == 2
    assert "fail_on" in err


def test_usage_error_exits_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["check", "--format", "xml"])
    assert exit_info.value.code == 2


# --- rules ---


def test_rules_lists_the_six_foundation_rules(capsys):
    code, out, _ = run(["rules"], capsys)
    assert code == 0
    ids = [line.split()[0] for line in out.splitlines()]
    assert ids[:6] == ["UPS001", "UPS002", "UPS003", "UPS004", "UPS005", "UPS006"]


def test_rule_docs_by_id_or_name(capsys):
    _, by_id, _ = run(["rules", "UPS001"], capsys)
    _, by_name, _ = run(["rules", "conflict-target-not-unique"], capsys)
    assert by_id == by_name
    for section in ("### What it does", "### Why is this bad?", "### Example", "### Use instead"):
        assert section in by_id
    code, _, err = run(["rules", "UPS999"], capsys)
    assert code == 2 and "UPS999" in err
