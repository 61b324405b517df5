"""`upsert-audit init`: the configuration a project's first audit suggests, written into
pyproject.toml without touching the rest of the file, and the audit under it unchanged."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import pytest

from auditor.cli import main
from auditor.config import load_config
from auditor.engine import run_audit

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

SCHEMA = "CREATE TABLE avatars (id serial PRIMARY KEY, user_id int NOT NULL, persona text);\n"
UPSERT = "INSERT INTO avatars (user_id, persona) VALUES (%s, %s) ON CONFLICT (user_id) DO UPDATE SET persona = EXCLUDED.persona"

PSYCOPG_PROJECT = {
    "db/migrations/001_avatars.sql": SCHEMA,
    "app/store.py": f'''
import psycopg


def save(conn: psycopg.Connection, user_id, persona):
    conn.execute("{UPSERT}", (user_id, persona))
''',
}

# A helper whose SQL is a parameter, called on an object the audit cannot type: the write is
# not checked until the helper is declared a sink.
WRAPPER_PROJECT = {
    "migrations/001.sql": SCHEMA,
    "app/db.py": '''
import psycopg


class Store:
    def __init__(self, conn: psycopg.Connection):
        self.conn = conn

    def run(self, sql, params=()):
        with self.conn.cursor() as cur:
            cur.execute(sql, params)
''',
    "app/service.py": f'''
def save(store, user_id, persona):
    store.run("{UPSERT}", (user_id, persona))
''',
}


def _outcome(project: Path) -> tuple:
    result = run_audit(load_config(project))
    return (
        result.dialect,
        sorted((f.rule, f.location.path, f.location.line) for f in result.findings),
        sorted(result.catalog.tables),
        (result.summary.write_sites, result.summary.checked, result.summary.idioms),
    )


def _table(project: Path) -> dict:
    return tomllib.loads((project / "pyproject.toml").read_text())["tool"]["upsert-audit"]


def test_a_project_without_pyproject_gets_one_with_only_the_table(make_project, capsys):
    project = make_project(PSYCOPG_PROJECT)
    before = _outcome(project)

    assert main(["init", str(project)]) == 0
    out = capsys.readouterr().out

    document = tomllib.loads((project / "pyproject.toml").read_text())
    assert list(document) == ["tool"] and list(document["tool"]) == ["upsert-audit"]
    assert _table(project)["dialect"] == "postgres"
    assert _table(project)["schema"] == ["db/migrations"]
    assert "# What the code's drivers speak: psycopg (1 write site)." in out
    assert "The first audit:" in out and "1 write site(s) found; 1 resolved to a known table; 1 checked" in out
    assert "Found 1 finding(s): 1 error." in out
    assert _outcome(project) == before  # the written table pins only what the audit already did


def test_the_rest_of_an_existing_pyproject_is_kept_byte_for_byte(make_project):
    project = make_project(PSYCOPG_PROJECT)
    original = '[project]\nname = "shop"  # the shop\n\n[tool.ruff]\nline-length = 100\n'
    (project / "pyproject.toml").write_text(original)

    assert main(["init", str(project)]) == 0
    text = (project / "pyproject.toml").read_text()
    assert text.startswith(original + "\n")
    assert tomllib.loads(text)["tool"]["ruff"] == {"line-length": 100}


def test_an_existing_table_is_never_overwritten_without_force(make_project, capsys):
    project = make_project(PSYCOPG_PROJECT)
    original = '[tool.upsert-audit]\ndialect = "sqlite"\n'
    (project / "pyproject.toml").write_text(original)

    assert main(["init", str(project)]) == 2
    assert (project / "pyproject.toml").read_text() == original
    assert not (project / ".upsert-audit-cache").exists()  # refused before auditing


def test_the_refusal_names_force(make_project, capsys):
    project = make_project(PSYCOPG_PROJECT)
    (project / "pyproject.toml").write_text('[tool.upsert-audit]\ndialect = "sqlite"\n')

    main(["init", str(project)])
    error = capsys.readouterr().err
    assert "already has [tool.upsert-audit]; nothing written" in error and "init --force" in error


def test_force_replaces_the_table_and_its_subtables_and_keeps_the_rest(make_project):
    project = make_project(PSYCOPG_PROJECT)
    (project / "pyproject.toml").write_text(
        '[project]\nname = "shop"\n\n'
        '[tool.upsert-audit]\ndialect = "sqlite"\nexclude = ["app/"]\n\n'
        '[tool.upsert-audit.severity]\nUPS001 = "info"\n\n'
        '[[tool.upsert-audit.sinks]]\ncall = "db.run"\nsql-argument = 0\n\n'
        '# ruff settings\n[tool.ruff]\nline-length = 100\n'
    )

    assert main(["init", str(project), "--force"]) == 0
    text = (project / "pyproject.toml").read_text()
    document = tomllib.loads(text)
    assert document["project"] == {"name": "shop"} and document["tool"]["ruff"] == {"line-length": 100}
    assert "# ruff settings" in text
    table = document["tool"]["upsert-audit"]
    assert table["dialect"] == "postgres" and "severity" not in table and "sinks" not in table and "exclude" not in table
    assert text.count("[tool.upsert-audit") == 1


def test_invalid_toml_is_left_alone(make_project, capsys):
    project = make_project(PSYCOPG_PROJECT)
    (project / "pyproject.toml").write_text("[project\nname = 1\n")

    assert main(["init", str(project)]) == 2
    assert "not valid TOML" in capsys.readouterr().err
    assert (project / "pyproject.toml").read_text() == "[project\nname = 1\n"
    assert not list(project.glob(".pyproject.toml*"))


def test_a_path_that_is_not_a_folder_is_an_error(make_project, capsys):
    project = make_project(PSYCOPG_PROJECT)
    assert main(["init", str(project / "app" / "store.py")]) == 2
    assert "not a folder" in capsys.readouterr().err


def test_mixed_drivers_leave_the_dialect_unpinned(make_project):
    project = make_project({
        **PSYCOPG_PROJECT,
        "app/cache.py": '''
import sqlite3


def remember(key, value):
    conn = sqlite3.connect("cache.db")
    conn.execute("INSERT INTO avatars (user_id, persona) VALUES (?, ?)", (key, value))
''',
    })
    before = _outcome(project)

    assert main(["init", str(project)]) == 0
    assert "dialect" not in _table(project)
    text = (project / "pyproject.toml").read_text()
    assert "the code speaks several" in text and "sqlite3 (1 write site), psycopg (1 write site)" in text.replace("\n# ", " ")
    assert _outcome(project) == before


def test_a_helper_it_could_not_follow_is_offered_as_a_sink_that_checks_it(make_project, capsys):
    project = make_project(WRAPPER_PROJECT)
    assert main(["init", str(project)]) == 0
    text = (project / "pyproject.toml").read_text()
    start = text.index("# sinks = [\n")
    offered = text[start:text.index("# ]\n", start) + 4]
    assert offered == '# sinks = [\n#     { call = "run", sql-argument = 0 },\n# ]\n'
    assert "sinks" not in _table(project)  # offered, not decided for the user
    unchecked = run_audit(load_config(project))
    assert unchecked.summary.checked == 0 and not any(f.rule == "UPS001" for f in unchecked.findings)

    uncommented = "".join(line[2:] for line in offered.splitlines(keepends=True))
    (project / "pyproject.toml").write_text(text.replace(offered, uncommented))
    result = run_audit(load_config(project))
    assert result.summary.checked == 1
    assert [f.rule for f in result.findings if f.severity.name == "ERROR"] == ["UPS001"]


@pytest.mark.parametrize("example", ["django_app", "sqlalchemy_app", "race_app"])
def test_the_examples_audit_the_same_under_the_written_table(example, tmp_path, capsys):
    project = tmp_path / example
    shutil.copytree(EXAMPLES / example, project, ignore=shutil.ignore_patterns("*.db", "__pycache__", ".upsert-audit-cache"))
    (project / "pyproject.toml").unlink(missing_ok=True)
    before = _outcome(project)

    assert main(["init", str(project)]) == 0
    assert "The first audit:" in capsys.readouterr().out
    load_config(project)  # the written table loads
    assert _outcome(project) == before


def test_init_force_twice_writes_the_same_file(make_project):
    project = make_project(PSYCOPG_PROJECT)
    (project / "pyproject.toml").write_text('[project]\nname = "shop"\n\n# ruff settings\n[tool.ruff]\nline-length = 100\n')

    assert main(["init", str(project)]) == 0
    once = (project / "pyproject.toml").read_text()
    assert main(["init", str(project), "--force"]) == 0
    assert (project / "pyproject.toml").read_text() == once  # its own comments replaced, not piled up


def test_a_table_it_cannot_cut_out_cleanly_is_left_for_the_user(make_project, capsys):
    project = make_project(PSYCOPG_PROJECT)
    original = '[tool]\nupsert-audit.dialect = "sqlite"\nruff.line-length = 100\n'
    (project / "pyproject.toml").write_text(original)

    assert main(["init", str(project), "--force"]) == 2
    assert "remove it by hand" in capsys.readouterr().err
    assert (project / "pyproject.toml").read_text() == original
