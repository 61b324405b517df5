"""Configuration keys, flags, inline suppression and exit codes, end to end."""

from __future__ import annotations

import json

import pytest

from auditor.cli import main
from auditor.config import ConfigError, load_config

SCHEMA = "CREATE TABLE t (id int PRIMARY KEY, k text, c text NOT NULL UNIQUE DEFERRABLE);\n"
BAD = 'cur.execute("INSERT INTO t (k) VALUES (\'a\') ON CONFLICT (k) DO NOTHING")'  # UPS001
DEFERRED = 'cur.execute("INSERT INTO t (c) VALUES (\'a\') ON CONFLICT (c) DO NOTHING")'  # UPS004


def audit(project, capsys, *flags):
    code = main(["check", str(project), "--format", "json", *flags])
    return code, json.loads(capsys.readouterr().out)


def rules_at(doc):
    return sorted((f["rule"], f["path"], f["line"]) for f in doc["findings"])


@pytest.fixture
def project(make_project):
    return make_project({
        "schema.sql": SCHEMA,
        "app/store.py": f"import psycopg\n\n\ndef save(cur):\n    {BAD}\n    {DEFERRED}\n",
        "tests/test_store.py": f"import psycopg\n\n\ndef test(cur):\n    {BAD}\n",
        "legacy/old.py": f"import psycopg\n{BAD}\n",
    })


def test_baseline_all_rules_everywhere(project, capsys):
    code, doc = audit(project, capsys)
    assert code == 1
    assert rules_at(doc) == [
        ("UPS001", "app/store.py", 5), ("UPS001", "legacy/old.py", 2),
        ("UPS001", "tests/test_store.py", 5), ("UPS004", "app/store.py", 6),
    ]


def test_pyproject_keys(project, capsys):
    (project / "pyproject.toml").write_text(
        "[tool.upsert-audit]\n"
        'exclude = ["legacy/"]\n'
        'ignore = ["UPS004"]\n'
        "[tool.upsert-audit.per-file-ignores]\n"
        '"tests/**" = ["UPS001"]\n'
    )
    code, doc = audit(project, capsys)
    assert code == 1
    assert rules_at(doc) == [("UPS001", "app/store.py", 5)]


def test_include_limits_python_files_but_not_the_schema(project, capsys):
    _, doc = audit(project, capsys, "--include", "app/")
    assert {f["path"] for f in doc["findings"]} == {"app/store.py"}
    assert doc["summary"]["schema_files"] == 1


def test_gitignore_is_honoured(project, capsys):
    (project / ".gitignore").write_text("legacy/\ntests/\n")
    _, doc = audit(project, capsys)
    assert {f["path"] for f in doc["findings"]} == {"app/store.py"}


def test_flags_select_severity_and_fail_on(project, capsys):
    _, doc = audit(project, capsys, "--select", "UPS004")
    assert rules_at(doc) == [("UPS004", "app/store.py", 6)]
    code, doc = audit(project, capsys, "--severity", "UPS001=warning", "--select", "UPS001", "--fail-on", "error")
    assert code == 0  # findings remain, but none at or above the failing severity
    assert {f["severity"] for f in doc["findings"]} == {"warning"} and len(doc["findings"]) == 3
    code, _ = audit(project, capsys, "--per-file-ignores", "legacy/*:UPS001", "--exclude", "tests/", "--exclude", "app/")
    assert code == 0


def test_inline_suppression_and_unused_suppressions(make_project, capsys):
    project = make_project({
        "schema.sql": SCHEMA,
        "app.py": (
            "import psycopg\n\n\ndef save(cur):\n"
            f"    {BAD}  # upsert-audit: ignore[UPS001]\n"
            "    # upsert-audit: ignore\n"
            f"    {DEFERRED}\n"
            f"    {BAD}  # upsert-audit: ignore[UPS004]\n"
            "    x = 1  # upsert-audit: ignore[UPS002]\n"
        ),
    })
    code, doc = audit(project, capsys)
    assert code == 1
    assert rules_at(doc) == [("UPS001", "app.py", 8)]  # suppressed for the wrong rule: still reported
    assert doc["summary"]["suppressed"] == 2
    assert [(s["line"], s["rules"]) for s in doc["unused_suppressions"]] == [(8, ["UPS004"]), (9, ["UPS002"])]
    main(["check", str(project)])
    assert "app.py:9: suppression of UPS002 matches no finding" in capsys.readouterr().out


def test_config_command_prints_effective_configuration(project, capsys):
    (project / "pyproject.toml").write_text('[tool.upsert-audit]\ndialect = "pg"\nselect = ["UPS0"]\n[tool.upsert-audit.severity]\nUPS002 = "warning"\n')
    assert main(["config", str(project), "--fail-on", "error"]) == 0
    out = capsys.readouterr().out
    assert 'dialect = "postgres"' in out and 'select = ["UPS0"]' in out
    assert 'fail-on = "error"' in out and 'UPS002 = "warning"' in out


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        ({"select": ["E501"]}, "--select"),
        ({"fail-on": "fatal"}, "--fail-on"),
        ({"severity": {"UPS001": "loud"}}, "severity.UPS001"),
        ({"per-file-ignores": {"x": ["nope"]}}, "per-file-ignores.x"),
        ({"exclude": [3]}, "--exclude"),
    ],
)
def test_bad_values_name_the_key(tmp_path, flags, named):
    with pytest.raises(ConfigError, match=named.replace(".", r"\.")):
        load_config(tmp_path, **flags)


def test_bad_flag_syntax_exits_2(project, capsys):
    assert main(["check", str(project), "--severity", "UPS001"]) == 2
    assert "--severity" in capsys.readouterr().err
