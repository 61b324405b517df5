"""The merged catalog: DDL embedded in Python, model/migration precedence and drift,
the `schema` command, and hook mode when a Python schema file changes."""

from __future__ import annotations

import json
import sqlite3

from auditor.cli import main
from auditor.config import load_config
from auditor.engine import run_audit
from auditor.schema import introspect_sqlite
from auditor.schema.compare import comparable
from auditor.schema.source import SchemaSource
from auditor.schema.sources import build_catalog, merge_models
from auditor.schema.source import catalog_from_source

EMBEDDED_APP = {
    "app/db.py": '''
        import sqlite3

        SCHEMA = """
        CREATE TABLE IF NOT EXISTS visits (
            id INTEGER PRIMARY KEY,
            page TEXT NOT NULL,
            day TEXT NOT NULL,
            hits INTEGER NOT NULL DEFAULT 0
        );
        CREATE UNIQUE INDEX IF NOT EXISTS visits_page_day ON visits (page, day);
        CREATE TABLE IF NOT EXISTS tags (name TEXT NOT NULL, note TEXT);
        """

        def connect(path):
            conn = sqlite3.connect(path)
            conn.executescript(SCHEMA)
            return conn

        def count(conn, page, day):
            conn.execute(
                "INSERT INTO visits (page, day, hits) VALUES (?, ?, 1) "
                "ON CONFLICT (page, day) DO UPDATE SET hits = visits.hits + 1",
                (page, day),
            )

        def tag(conn, name, note):
            conn.execute("INSERT INTO tags (name, note) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET note = excluded.note", (name, note))
    ''',
}


def _embedded_schema_sql(project) -> str:
    import ast

    tree = ast.parse((project / "app/db.py").read_text())
    return next(n.value.value for n in tree.body if isinstance(n, ast.Assign) and n.targets[0].id == "SCHEMA")


def test_ddl_in_python_code_is_the_schema_and_matches_sqlite(make_project, tmp_path):
    project = make_project(EMBEDDED_APP)
    result = run_audit(load_config(project, cache=False))
    assert result.schema_sources == ["DDL in Python code"]
    assert "app/db.py" in result.catalog.sources
    # The oracle: the same DDL, run by SQLite itself (we run the SQL text, never the module).
    db = tmp_path / "live.db"
    with sqlite3.connect(db) as conn:
        conn.executescript(_embedded_schema_sql(project))
    conn.close()
    assert comparable(result.catalog) == comparable(introspect_sqlite(str(db)))
    # and the audit uses it: the tags upsert has no unique key, the visits upsert is fine
    assert [(f.rule, f.table, f.location.line) for f in result.findings] == [("UPS001", "main.tags", 28)]


def _source(kind: str, is_migration: bool, *statements: tuple[str, str, int]) -> SchemaSource:
    source = SchemaSource(kind, is_migration)
    for sql, path, line in statements:
        source.emit(sql, path, line)
    source.files = sorted({path for _, path, _ in statements})
    return source


def test_models_fill_in_tables_migrations_lack_and_report_drift_where_both_define_one():
    migrations = catalog_from_source(
        _source("migrations", True, ('CREATE TABLE "users" ("id" int PRIMARY KEY, "email" text NOT NULL)', "migrations/0001.py", 3)),
        "postgres",
    )
    models = catalog_from_source(
        _source(
            "sqlalchemy models", False,
            ('CREATE TABLE "users" ("id" int PRIMARY KEY, "email" text NOT NULL UNIQUE)', "app/models.py", 10),
            ('CREATE TABLE "audit_log" ("id" int PRIMARY KEY)', "app/models.py", 20),
        ),
        "postgres",
    )
    merge_models(migrations, models, "sqlalchemy models")
    users = migrations.tables[next(n for n in migrations.tables if n.name == "users")]
    assert [k.name for k in users.keys] == ["users_pkey"]  # the migrations decide
    assert any(n.name == "audit_log" for n in migrations.tables)  # only the models define it
    drift = [d for d in migrations.diagnostics if d.kind == "schema-drift"]
    assert len(drift) == 1
    assert drift[0].path == "app/models.py" and drift[0].line == 10
    assert "users_email_key (email)" in drift[0].message and "only in the sqlalchemy models" in drift[0].message


def test_build_catalog_without_python_sources_is_the_sql_files(tmp_path):
    (tmp_path / "001.sql").write_text("CREATE TABLE t (id int PRIMARY KEY, k text UNIQUE);\n")
    project = build_catalog(tmp_path, [], [tmp_path / "001.sql"], "postgres")
    assert project.sources == ["SQL files"]
    assert project.migration_files == {"001.sql"}
    assert [k.name for k in project.catalog.tables[next(iter(project.catalog.tables))].keys] == ["t_pkey", "t_k_key"]


def test_schema_command_prints_the_catalog_as_json(make_project, capsys):
    project = make_project(EMBEDDED_APP)
    assert main(["schema", str(project), "--format", "json", "--no-cache"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["dialect"] == "sqlite" and document["sources"] == ["DDL in Python code"]
    visits = next(t for t in document["tables"] if t["name"] == "visits")
    assert {c["name"]: c["nullable"] for c in visits["columns"]} == {"id": False, "page": False, "day": False, "hits": False}
    assert visits["keys"] == [
        {
            "kind": "primary", "name": None, "columns": ["id"], "expressions": [], "elements": ["id"], "include": [],
            "predicate": None, "deferrable": False, "initially_deferred": False, "nulls_distinct": True, "valid": True,
            "source": "app/db.py:6",
        },
        {
            "kind": "index", "name": "visits_page_day", "columns": ["page", "day"], "expressions": [], "elements": ["page", "day"],
            "include": [], "predicate": None, "deferrable": False, "initially_deferred": False, "nulls_distinct": True,
            "valid": True, "source": "app/db.py:11",
        },
    ]


def test_schema_command_text_names_where_each_key_is_defined(make_project, capsys):
    project = make_project(EMBEDDED_APP)
    assert main(["schema", str(project), "--no-cache"]) == 0
    out = capsys.readouterr().out
    assert "sources: DDL in Python code" in out
    assert "unique index visits_page_day (page, day)  (app/db.py:11)" in out


def test_schema_command_shows_foreign_keys(make_project, capsys):
    project = make_project({"schema.sql": (
        "CREATE TABLE parents (id int PRIMARY KEY);\n"
        "CREATE TABLE children (id int PRIMARY KEY, parent_id int REFERENCES parents, CONSTRAINT children_self FOREIGN KEY (id) REFERENCES children (id));\n"
    )})
    assert main(["schema", str(project), "--dialect", "postgres", "--no-cache"]) == 0
    out = capsys.readouterr().out
    assert "foreign key children_parent_id_fkey (parent_id) -> public.parents (its primary key)  (schema.sql:2)" in out
    assert main(["schema", str(project), "--dialect", "postgres", "--format", "json", "--no-cache"]) == 0
    children = next(t for t in json.loads(capsys.readouterr().out)["tables"] if t["name"] == "children")
    assert children["foreign_keys"] == [
        {"name": "children_parent_id_fkey", "columns": ["parent_id"], "references": "public.parents", "referenced_columns": [], "source": "schema.sql:2"},
        {"name": "children_self", "columns": ["id"], "references": "public.children", "referenced_columns": ["id"], "source": "schema.sql:2"},
    ]


def test_hook_mode_still_reads_ddl_from_unchanged_python_files(make_project):
    """pre-commit passes only the changed file; the schema in db.py must still be known."""
    project = make_project(
        {
            **EMBEDDED_APP,
            "app/report.py": '''
                def save(conn, name):
                    conn.execute("INSERT INTO tags (name) VALUES (?) ON CONFLICT (name) DO NOTHING", (name,))
            ''',
        }
    )
    result = run_audit(load_config(project, cache=False), changed=[project / "app/report.py"])
    assert [(f.rule, f.location.path) for f in result.findings] == [("UPS001", "app/report.py")]
    assert result.summary.unknown_tables == []


def test_hook_mode_a_changed_model_or_migration_reports_sites_on_its_tables(tmp_path):
    """A commit that only touches models.py or a revision still blocks the upsert it breaks."""
    import sys

    sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
    from framework_oracle import copy_example

    project = copy_example("sqlalchemy_app", tmp_path)
    (project / "app" / "unrelated.py").write_text("VALUE = 1\n")
    config = load_config(project, cache=False)

    def reported(*changed):
        result = run_audit(config, changed=[project / c for c in changed])
        return [(f.rule, f.location.path) for f in result.findings]

    assert reported("app/unrelated.py") == []
    assert reported("app/models.py") == [("UPS001", "app/storage.py")] * 2  # defines avatar_configurations
    assert reported("migrations/versions/e5_create_prefs.py") == [("UPS001", "app/storage.py")] * 2  # a migration: every table
