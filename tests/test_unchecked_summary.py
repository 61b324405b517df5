"""Silent is not clean: what the audit could not check is grouped by reason, with counts, the
first places and what would resolve each group, on the terminal, in the report and in JSON;
and a --schema the audit cannot read is an error that names it."""

from __future__ import annotations

import json

import pytest

from auditor.cli import main

SCHEMA = "CREATE TABLE users (id serial PRIMARY KEY, email text NOT NULL UNIQUE, name text);\n"

APP = '''
def run(cur, sql):
    cur.execute(sql)

def load(cur, table):
    cur.execute(f"INSERT INTO {table} (a) VALUES (1)")

def save(cur, rows):
    cur.execute("INSERT INTO audit_log (a) VALUES (1)")
    cur.execute("INSERT INTO audit_log (b) VALUES (2)")
    cur.execute("INSERT INTO users (email) VALUES ('x') ON CONFLICT (email) DO NOTHING")
'''

VIEWS = '''
def view(helpers, cur):
    # which module `helpers` is, is not known here: the call is not followed by itself
    helpers.run(cur, "INSERT INTO users (email, name) VALUES ('x', 'y') ON CONFLICT (name) DO NOTHING")
'''


def _check(project, capsys, *flags) -> tuple[int, str]:
    code = main(["check", str(project), "--no-cache", "--dialect", "postgres", *flags])
    return code, capsys.readouterr().out


def test_unchecked_sites_are_grouped_by_reason_with_a_remedy(make_project, capsys):
    project = make_project({"schema.sql": SCHEMA, "app.py": APP, "views.py": VIEWS})
    code, out = _check(project, capsys, "--format", "json")
    groups = {g["reason"]: g for g in json.loads(out)["unchecked"]}
    assert {r: g["count"] for r, g in groups.items()} == {
        "table … is not in the schema": 2,
        "name … is a function parameter": 1,
        "the table … is not known (name … is a function parameter)": 1,
    }
    unknown = groups["table … is not in the schema"]
    assert [p["line"] for p in unknown["places"]] == [9, 10] and "--schema" in unknown["remedy"]
    # the sinks entry for the helper is written out, ready to paste
    assert 'sinks = [{ call = "run", sql-argument = 1 }]' in groups["name … is a function parameter"]["remedy"]

    code, out = _check(project, capsys)
    assert "Not checked, by reason (4 in all):" in out
    assert "  2 write site(s): table … is not in the schema\n      at app.py:9:5, app.py:10:5\n      to resolve: " in out


def test_the_written_out_sinks_entry_resolves_what_it_names(make_project, capsys):
    project = make_project({"schema.sql": SCHEMA, "app.py": APP, "views.py": VIEWS})
    code, out = _check(project, capsys, "--format", "json")
    remedy = next(g["remedy"] for g in json.loads(out)["unchecked"] if g["reason"] == "name … is a function parameter")
    entry = remedy.split("add to [tool.upsert-audit]: ")[1]
    (project / "pyproject.toml").write_text(f"[tool.upsert-audit]\n{entry}\n")
    code, out = _check(project, capsys, "--format", "json")
    flagged = [(f["path"], f["rule"]) for f in json.loads(out)["findings"] if f["severity"] != "info"]
    assert ("views.py", "UPS001") in flagged  # helpers.run(...) is now a write site, and its target is checked


def test_the_report_lists_every_group(make_project, capsys, tmp_path):
    project = make_project({"schema.sql": SCHEMA, "app.py": APP})
    main(["report", str(project), "--no-cache", "--dialect", "postgres", "-o", str(tmp_path / "r.md")])
    report = (tmp_path / "r.md").read_text()
    assert "### What was not checked, by reason" in report
    assert "| 2 | write site | table … is not in the schema | `app.py:9:5`, `app.py:10:5` |" in report


def test_everything_checked_shows_no_group(make_project, capsys):
    project = make_project({"schema.sql": SCHEMA, "app.py": "def f(cur):\n    cur.execute(\"INSERT INTO users (email) VALUES ('x')\")\n"})
    code, out = _check(project, capsys)
    assert "Not checked" not in out
    assert json.loads(_check(project, capsys, "--format", "json")[1])["unchecked"] == []


@pytest.mark.parametrize(("name", "content", "message"), [
    ("models.py", "x = 1\n", "is not a SQL schema file"),
    ("notes.md", "# hello\n", "is not a SQL schema file"),
    ("dump.sql", b"\x00\x01binary", "is not a text file"),
    ("latin.sql", "CREATE TABLE café (a int);\n".encode("latin-1"), "is not UTF-8 text"),
])
def test_a_schema_the_audit_cannot_read_is_an_error_that_names_it(make_project, capsys, name, content, message):
    project = make_project({"app.py": APP})
    path = project / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    code = main(["check", str(project), "--no-cache", "--schema", str(path)])
    err = capsys.readouterr().err
    assert code == 2 and message in err and name in err
