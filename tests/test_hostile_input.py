"""Hostile and broken input: each bad file is a diagnostic naming it; the run completes."""

from __future__ import annotations

import json
import os

from auditor.cli import main

SCHEMA = "CREATE TABLE t (id int PRIMARY KEY, k text);\n"
BAD_UPSERT = "import psycopg\ncur.execute(\"INSERT INTO t (id, k) VALUES (1, 'a') ON CONFLICT (k) DO NOTHING\")\n"


def test_hostile_project_is_audited_with_a_diagnostic_per_bad_file(make_project, capsys):
    project = make_project({
        "schema.sql": SCHEMA + "CREATE TABLE nested (x int CHECK (" + "(" * 3000 + "x" + ")" * 3000 + " > 0));\n",
        "ok.py": BAD_UPSERT,
        "py2.py": "print 'hello'\ncur.execute('DELETE FROM t')\n",
        "nested_parens.py": "cur.execute(" + "(" * 500 + "'DELETE FROM t'" + ")" * 500 + ")\n",
        "deep_sum.py": "cur.execute(" + " + ".join(["'x'"] * 100_000) + ")\n",
        "long_line.py": 'cur.execute("INSERT INTO t (id, k) VALUES ' + ", ".join(f"({i}, 'v')" for i in range(50_000)) + '")\n',
        "binary.py": bytes(range(256)) * 20 + b"cur.execute(",
        "huge.py": b"# filler\n" * 1_200_000 + b"cur.execute('DELETE FROM t')\n",
        "truncated_sql.py": "cur.execute('INSERT INTO t (id, k) VALUES (1, ')\n",
        "nul.py": "cur.execute('DELETE FROM t')\x00\n",
    })
    os.symlink(project, project / "loop")  # a symlink loop must not be followed
    code = main(["check", str(project), "--format", "json", "--no-cache"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 1
    assert [(f["rule"], f["path"]) for f in doc["findings"] if f["severity"] != "info"] == [("UPS001", "ok.py")]
    assert ("UPS902", "truncated_sql.py") in {(f["rule"], f["path"]) for f in doc["findings"]}
    kinds = {d["path"]: d["kind"] for d in doc["diagnostics"]}
    assert kinds["py2.py"] == "syntax-error"
    assert "nested_parens.py" not in kinds  # too deep for ast, read by the LibCST fallback
    assert kinds["deep_sum.py"] == "too-complex"
    assert kinds["binary.py"] == "decode-error"
    assert kinds["nul.py"] == "decode-error"
    assert kinds["huge.py"] == "too-large"
    assert kinds["truncated_sql.py"] == "sql-parse-error"
    assert "schema.sql" in kinds  # the statement too deep for the SQL parser
    assert doc["summary"]["python_files"] == 9  # nothing was read twice through the loop
    assert "long_line.py" not in kinds  # a very long but valid statement is simply checked
    # ok.py, nested_parens.py, long_line.py, truncated_sql.py and deep_sum.py (unresolved) are write sites
    assert (doc["summary"]["write_sites"], doc["summary"]["unparsed"]) == (4, 1)


def test_a_file_over_the_time_limit_is_skipped_with_a_diagnostic(make_project, monkeypatch):
    import auditor.python as extraction
    from auditor.python import python_files, scan_python_files

    monkeypatch.setattr(extraction, "FILE_SECONDS", 0.001)
    project = make_project({"slow.py": "x = 1\n" * 200_000 + "cur.execute('DELETE FROM t')\n"})
    scan = scan_python_files(project, python_files(project))
    assert [(d.path, d.kind) for d in scan.diagnostics] == [("slow.py", "too-slow")]
    assert scan.calls == []
