"""Default key names: the names we compute are the ones PostgreSQL and MariaDB really give."""

from __future__ import annotations

import pytest

from auditor.key_names import MYSQL_NAME_CHARACTERS, new_key_name, postgres_object_name

psycopg = pytest.importorskip("psycopg")

LONG = "a_table_name_long_enough_that_postgres_must_shorten_it_somewhere"  # 64 bytes
# (table, columns): short; long table; long column; long columns of even length; many
# columns; multibyte characters cut near the limit.
CASES = [
    ("avatars", ["user_id"]),
    (LONG, ["user_id"]),
    ("t", ["a_column_name_long_enough_that_postgres_must_shorten_it_somewhere"]),
    (LONG, ["a_column_name_long_enough_that_postgres_must_shorten_it_somewhere"]),
    ("configurations", ["tenant_identifier", "external_account_identifier", "region_code", "created_on_day"]),
    ("größenangaben_für_überlange_tabellennamen_mit_umlauten_ääää", ["spaltenname_öö", "zweite_spalte_üü"]),
]


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@pytest.mark.parametrize("table, columns", CASES)
def test_postgres_default_key_names(pg_database, table, columns):
    """UNIQUE (...) twice on the same columns (the second name takes a counter) and the
    primary key: pg_constraint holds the names we compute."""
    column_sql = ", ".join(f"{_quoted(c)} int" for c in columns)
    key = ", ".join(map(_quoted, columns))
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {_quoted(table)} (id int PRIMARY KEY, {column_sql}, UNIQUE ({key}))")
        conn.execute(f"ALTER TABLE {_quoted(table)} ADD UNIQUE ({key})")  # in CREATE TABLE, PostgreSQL merges the two
        names = {row[0] for row in conn.execute("SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass", (_quoted(table),))}
    expected = {postgres_object_name(table, [], "pkey"), postgres_object_name(table, columns, "key"), postgres_object_name(table, columns, "key1")}
    assert names == expected


def test_new_key_names_fit_each_database(pg_database, mariadb_database):
    """The name a migration gives its key is accepted as written, not silently cut."""
    pymysql = pytest.importorskip("pymysql")
    table, columns = LONG, ["user_id", "persona_identifier"]
    postgres_name = new_key_name(table, columns, "postgres")
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {_quoted(table)} (user_id int, persona_identifier int)")
        conn.execute(f'ALTER TABLE {_quoted(table)} ADD CONSTRAINT {_quoted(postgres_name)} UNIQUE (user_id, persona_identifier)')
        assert conn.execute("SELECT conname FROM pg_constraint WHERE contype = 'u' AND conrelid = %s::regclass", (_quoted(table),)).fetchone()[0] == postgres_name
    mysql_name = new_key_name(table[:60], columns, "mysql")
    assert len(mysql_name) == MYSQL_NAME_CHARACTERS
    with pymysql.connect(**mariadb_database) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE TABLE `{table[:60]}` (user_id int, persona_identifier int)")
        cur.execute(f"ALTER TABLE `{table[:60]}` ADD CONSTRAINT `{mysql_name}` UNIQUE (user_id, persona_identifier)")
        cur.execute("SELECT index_name FROM information_schema.statistics WHERE table_schema = DATABASE() AND non_unique = 0")
        assert cur.fetchone()[0] == mysql_name
