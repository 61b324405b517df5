"""The SQL schema reader: migration order, provenance, and bad input."""

from pathlib import Path

from auditor.model import KeyKind
from auditor.schema import catalog_from_sql, discover_schema_files, load_sql_schema


def test_migration_order_sorts_versions_as_numbers(tmp_path):
    names = ["10_c.sql", "2_b.sql", "1_a.sql", "V1.10__z.sql", "V1.2__y.sql", "20240101120000_t.sql", "notes.txt"]
    for name in names:
        (tmp_path / name).write_text("")
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / "x.sql").write_text("")
    found = [p.name for p in discover_schema_files(tmp_path)]
    assert found == ["1_a.sql", "V1.2__y.sql", "V1.10__z.sql", "2_b.sql", "10_c.sql", "20240101120000_t.sql"]
    assert found.index("V1.2__y.sql") < found.index("V1.10__z.sql")
    assert found.index("2_b.sql") < found.index("10_c.sql") < found.index("20240101120000_t.sql")
    assert "x.sql" not in found and "notes.txt" not in found


def test_later_migrations_change_earlier_tables(tmp_path: Path):
    (tmp_path / "1_init.sql").write_text("CREATE TABLE t (id int PRIMARY KEY, k text);\n")
    (tmp_path / "2_key.sql").write_text("-- add the key\n\nALTER TABLE t ADD CONSTRAINT t_k_key UNIQUE (k);\n")
    (tmp_path / "10_drop.sql").write_text("ALTER TABLE t DROP CONSTRAINT t_k_key;\n")
    catalog = load_sql_schema(discover_schema_files(tmp_path), tmp_path, "postgres")
    assert catalog.sources == ["1_init.sql", "2_key.sql", "10_drop.sql"]
    keys = [k.name for k in next(iter(catalog.tables.values())).keys]
    assert keys == ["t_pkey"]  # 10 sorts after 2, so the drop wins


def test_every_key_records_file_and_line(tmp_path):
    (tmp_path / "schema.sql").write_text(
        "CREATE TABLE users (\n"
        "    id int PRIMARY KEY,\n"
        "    email text,\n"
        "    CONSTRAINT users_email_uq UNIQUE (email)\n"
        ");\n"
        "\n"
        "CREATE UNIQUE INDEX users_lower ON users (lower(email));\n"
    )
    catalog = load_sql_schema([tmp_path / "schema.sql"], tmp_path, "postgres")
    origins = {k.name: (k.origin.path, k.origin.line) for k in catalog.tables[next(iter(catalog.tables))].keys}
    assert origins == {
        "users_pkey": ("schema.sql", 2),
        "users_email_uq": ("schema.sql", 4),
        "users_lower": ("schema.sql", 7),
    }


def test_identifier_folding_and_quoting():
    catalog = catalog_from_sql('CREATE TABLE App."Users" (ID int PRIMARY KEY, "Email" text UNIQUE);', "postgres")
    [(name, table)] = catalog.tables.items()
    assert (name.schema, name.name) == ("app", "Users")
    assert list(table.columns) == ["id", "Email"]
    assert [k.name for k in table.keys] == ["Users_pkey", "Users_Email_key"]


def test_partial_expression_include_and_flags():
    catalog = catalog_from_sql(
        "CREATE TABLE t (a text, b int, c int, d timestamptz);"
        "CREATE UNIQUE INDEX t_x ON t (lower(a), b) INCLUDE (c) WHERE d IS NULL;"
        "CREATE UNIQUE INDEX t_nnd ON t (c) NULLS NOT DISTINCT;"
        "ALTER TABLE t ADD CONSTRAINT t_b UNIQUE (b) DEFERRABLE INITIALLY DEFERRED;",
        "postgres",
    )
    keys = {k.name: k for k in next(iter(catalog.tables.values())).keys}
    assert [e.text for e in keys["t_x"].elements] == ["lower(a)", "b"]
    assert keys["t_x"].elements[0].is_expression and keys["t_x"].elements[0].columns == ("a",)
    assert keys["t_x"].include == ("c",) and keys["t_x"].predicate == "d IS NULL"
    assert keys["t_nnd"].nulls_not_distinct and keys["t_nnd"].kind is KeyKind.UNIQUE_INDEX
    assert keys["t_b"].deferrable and keys["t_b"].initially_deferred


def test_bad_sql_is_a_diagnostic_and_the_rest_still_applies(tmp_path):
    (tmp_path / "a.sql").write_text("CREATE TABLE a (id int PRIMARY KEY);\nCREATE TABLE broken (;\nCREATE TABLE b (id int UNIQUE);\n")
    (tmp_path / "b.sql").write_bytes(b"CREATE TABLE c (x int);\xff\xfe")
    catalog = load_sql_schema([tmp_path / "a.sql", tmp_path / "b.sql"], tmp_path, "postgres")
    assert sorted(n.name for n in catalog.tables) == ["a", "b"]
    assert [(d.path, d.line, d.kind) for d in catalog.diagnostics] == [("a.sql", 2, "sql-parse-error"), ("b.sql", None, "decode-error")]


def test_ddl_in_do_block_and_unknown_key_ddl_are_reported_not_ignored():
    catalog = catalog_from_sql(
        "CREATE TABLE t (a int);\n"
        "DO $$ BEGIN CREATE UNIQUE INDEX t_a ON t (a); END $$;\n"
        "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1 $$ LANGUAGE sql;\n"
        "INSERT INTO t VALUES (1);\n",
        "postgres",
    )
    assert [(d.line, d.kind) for d in catalog.diagnostics] == [(2, "unsupported-ddl")]
    assert "DO block" in catalog.diagnostics[0].message
