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
    assert "nested_parens.py" not in kinds  # too deep for ast; LibCST reads it and drops the redundant parentheses
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


def test_a_match_statement_is_read_like_any_other_block(make_project, capsys):
    # `case` blocks have no line of their own in ast; a file with one was dropped as an internal error.
    project = make_project({
        "schema.sql": SCHEMA,
        "app.py": "import psycopg\n\ndef save(cmd, cur):\n    match cmd:\n        case 'a':\n"
                  "            cur.execute(\"INSERT INTO t (id, k) VALUES (1, 'a') ON CONFLICT (k) DO NOTHING\")\n"
                  "        case _:\n            pass\n",
    })
    main(["check", str(project), "--format", "json", "--no-cache"])
    doc = json.loads(capsys.readouterr().out)
    assert doc["diagnostics"] == []
    assert [(f["rule"], f["line"]) for f in doc["findings"]] == [("UPS001", 6)]


def test_a_statement_the_sql_reader_cannot_place_is_unparsed_and_the_run_goes_on(make_project, capsys):
    # sqlglot reads `INSERT INTO table VALUES ...` (a keyword as the table) with no table at all:
    # that ended the whole audit with a trace.
    project = make_project({
        "schema.sql": SCHEMA,
        "app.py": "import psycopg\ncur.execute('INSERT INTO table VALUES (1, 2, 3)')\n" + BAD_UPSERT.split("\n", 1)[1],
    })
    code = main(["check", str(project), "--format", "json", "--no-cache"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 1
    assert {(f["rule"], f["line"]) for f in doc["findings"]} == {("UPS902", 2), ("UPS001", 3)}
    assert [(d["line"], d["kind"]) for d in doc["diagnostics"]] == [(2, "sql-parse-error")]
    assert (doc["summary"]["write_sites"], doc["summary"]["unparsed"], doc["summary"]["checked"]) == (2, 1, 1)


def test_a_rule_that_fails_on_one_site_is_a_diagnostic_and_the_other_rules_still_run(make_project, capsys, monkeypatch):
    from auditor.rulebook import builtin_rules

    failing = next(r for r in builtin_rules() if r.id == "UPS012")

    def broken(site, table):
        raise RuntimeError("boom")

    monkeypatch.setattr(failing, "findings", broken)
    project = make_project({"schema.sql": SCHEMA, "app.py": BAD_UPSERT})
    code = main(["check", str(project), "--format", "json", "--no-cache"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 1
    assert [f["rule"] for f in doc["findings"]] == ["UPS001"]
    assert [(d["path"], d["line"], d["kind"]) for d in doc["diagnostics"]] == [("app.py", 2, "internal-error")]
    assert "UPS012 could not check this site (RuntimeError: boom)" in doc["diagnostics"][0]["message"]


def test_writes_found_and_none_checked_do_not_pass(make_project, capsys):
    project = make_project({"schema.sql": SCHEMA, "app.py": "import psycopg\ndef save(cur, sql):\n    cur.execute(sql)\n"})
    assert main(["check", str(project), "--no-cache"]) == 2
    assert "1 write(s) found and none could be checked" in capsys.readouterr().out
    # one checked site is enough for the audit to speak
    (project / "more.py").write_text("import psycopg\ncur.execute('INSERT INTO t (id, k) VALUES (1, %s)', ('a',))\n")
    assert main(["check", str(project), "--no-cache"]) == 0
