"""Every schema read from SQL files must equal what the live database reports
after the same DDL (the database is the oracle)."""

from __future__ import annotations

import sqlite3

import pytest

from auditor.schema import catalog_from_sql, introspect_postgres, introspect_sqlite
from auditor.schema.compare import comparable, foreign_key_set

psycopg = pytest.importorskip("psycopg")

POSTGRES_SCRIPTS = {
    "inline-and-table-keys": """
        CREATE TABLE users (
            id bigserial PRIMARY KEY,
            email text NOT NULL UNIQUE,
            "Handle" varchar(40),
            tenant_id int NOT NULL,
            UNIQUE (tenant_id, "Handle"),
            CONSTRAINT users_handle_include UNIQUE (tenant_id) INCLUDE (email)
        );
    """,
    "composite-pk-and-named-constraints": """
        CREATE SCHEMA app;
        CREATE TABLE app."Prefs" (
            user_id int NOT NULL,
            key text NOT NULL,
            value text,
            CONSTRAINT prefs_pk PRIMARY KEY (user_id, key),
            CONSTRAINT prefs_value_uq UNIQUE NULLS NOT DISTINCT (value) DEFERRABLE INITIALLY DEFERRED
        );
    """,
    "unique-indexes": """
        CREATE TABLE accounts (id int PRIMARY KEY, email varchar(200), status text, deleted_at timestamptz, region text);
        CREATE UNIQUE INDEX accounts_email_lower ON accounts (lower(email));
        CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS accounts_live_email ON accounts USING btree (email DESC)
            WHERE deleted_at IS NULL AND status = 'active';
        CREATE UNIQUE INDEX accounts_region_email ON accounts (region, lower(email)) INCLUDE (status);
        CREATE UNIQUE INDEX accounts_status_nnd ON accounts (status) NULLS NOT DISTINCT;
        CREATE INDEX accounts_plain ON accounts (region);
    """,
    "alter-add-drop-rename": """
        CREATE TABLE items (id int, sku text, shop int, code text, note text);
        ALTER TABLE items ADD PRIMARY KEY (id);
        ALTER TABLE items ADD CONSTRAINT items_sku_uq UNIQUE (sku);
        ALTER TABLE items ADD UNIQUE (shop, sku);
        ALTER TABLE items ALTER COLUMN sku SET NOT NULL;
        ALTER TABLE items DROP CONSTRAINT IF EXISTS items_sku_uq;
        CREATE UNIQUE INDEX items_code_idx ON items (code);
        ALTER TABLE items ADD CONSTRAINT items_code_key UNIQUE USING INDEX items_code_idx;
        CREATE UNIQUE INDEX items_note_idx ON items (note);
        ALTER INDEX items_note_idx RENAME TO items_note_unique;
        ALTER TABLE items RENAME CONSTRAINT items_shop_sku_key TO items_shop_sku;
        ALTER TABLE items ADD COLUMN ext_id int UNIQUE;
        CREATE TABLE gone (id int PRIMARY KEY);
        DROP TABLE gone;
        CREATE UNIQUE INDEX items_tmp ON items (shop, code);
        DROP INDEX IF EXISTS items_tmp;
    """,
    "exclusion-and-deferrable": """
        CREATE TABLE bookings (
            id int PRIMARY KEY DEFERRABLE,
            room int NOT NULL,
            during tsrange,
            EXCLUDE USING gist (during WITH &&)
        );
        ALTER TABLE bookings ADD CONSTRAINT bookings_room_key UNIQUE (room) DEFERRABLE INITIALLY IMMEDIATE;
    """,
    "default-name-clash": """
        CREATE TABLE t (a int UNIQUE, b int);
        ALTER TABLE t ADD UNIQUE (a);
    """,
    "foreign-keys": """
        CREATE TABLE parents (id int PRIMARY KEY, code text UNIQUE, region int, number int, UNIQUE (region, number));
        CREATE TABLE children (
            id int PRIMARY KEY,
            parent_id int REFERENCES parents,
            parent_code text REFERENCES parents (code),
            region int, number int,
            FOREIGN KEY (region, number) REFERENCES parents (region, number),
            older_sibling int REFERENCES children (id)
        );
        CREATE TABLE notes (id int PRIMARY KEY, child int, author int, editor int CONSTRAINT notes_editor_fk REFERENCES children);
        ALTER TABLE notes ADD CONSTRAINT notes_child_fk FOREIGN KEY (child) REFERENCES children (id);
        ALTER TABLE notes ADD FOREIGN KEY (author) REFERENCES children (id);
        ALTER TABLE notes ADD FOREIGN KEY (author) REFERENCES children (id);
        ALTER TABLE notes DROP CONSTRAINT notes_author_fkey;
        ALTER TABLE notes RENAME CONSTRAINT notes_editor_fk TO notes_editor_ref;
        ALTER TABLE children DROP CONSTRAINT children_older_sibling_fkey;
        ALTER TABLE children RENAME COLUMN parent_id TO mother_id;
        ALTER TABLE parents RENAME COLUMN code TO parent_code;
        ALTER TABLE parents RENAME TO mothers;
    """,
    "long-default-names": """
        CREATE TABLE a_table_name_long_enough_that_postgres_must_shorten_it_somewhere (
            id int PRIMARY KEY,
            a_column_name_long_enough_that_postgres_must_shorten_it_somewhere int UNIQUE,
            "größe_überlänge_ääää" int,
            Ärger int UNIQUE
        );
        ALTER TABLE a_table_name_long_enough_that_postgres_must_shorten_it_somewhere
            ADD UNIQUE (a_column_name_long_enough_that_postgres_must_shorten_it_somewhere);
        ALTER TABLE a_table_name_long_enough_that_postgres_must_shorten_it_somewhere ADD UNIQUE (id, "größe_überlänge_ääää");
        ALTER TABLE a_table_name_long_enough_that_postgres_must_shorten_it_somewhere
            DROP CONSTRAINT a_table_name_long_enough_that_postgres_must_shorten_it_som_pkey;
    """,
}

SQLITE_SCRIPTS = {
    "foreign-keys": """
        CREATE TABLE parents (id INTEGER PRIMARY KEY, code TEXT UNIQUE, region INT, number INT, UNIQUE (region, number));
        CREATE TABLE children (
            id INTEGER PRIMARY KEY,
            parent_id INT REFERENCES parents,
            parent_code TEXT REFERENCES parents (code),
            region INT, number INT,
            older_sibling INT REFERENCES children (id),
            FOREIGN KEY (region, number) REFERENCES parents (region, number)
        );
        ALTER TABLE children RENAME COLUMN parent_id TO mother_id;
        ALTER TABLE parents RENAME COLUMN code TO parent_code;
        ALTER TABLE parents RENAME TO mothers;
        ALTER TABLE children ADD COLUMN cousin INT REFERENCES children (id);
    """,
    "alter-history": """
        CREATE TABLE "Events" (id INTEGER PRIMARY KEY, "Name" TEXT NOT NULL, day TEXT, note TEXT);
        CREATE UNIQUE INDEX events_name_day ON "Events" ("Name", day);
        ALTER TABLE "Events" RENAME TO happenings;
        ALTER TABLE happenings RENAME COLUMN day TO on_day;
        ALTER TABLE happenings ADD COLUMN ref TEXT;
        CREATE UNIQUE INDEX IF NOT EXISTS happenings_ref ON happenings (ref) WHERE ref IS NOT NULL;
        CREATE UNIQUE INDEX IF NOT EXISTS happenings_ref ON happenings (note);
        ALTER TABLE happenings DROP COLUMN note;
        CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT) WITHOUT ROWID;
        CREATE TABLE tmp (x INTEGER UNIQUE);
        DROP INDEX IF EXISTS no_such_index;
        DROP TABLE tmp;
    """,
    "rowid-alias-and-uniques": """
        CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, name TEXT, UNIQUE (name, email));
        CREATE UNIQUE INDEX users_lower_email ON users (lower(email));
        CREATE UNIQUE INDEX users_live_name ON users (name) WHERE name IS NOT NULL;
    """,
    "composite-pk": """
        CREATE TABLE IF NOT EXISTS prefs (user_id INTEGER NOT NULL, key TEXT NOT NULL, value TEXT, PRIMARY KEY (user_id, key));
        CREATE TABLE IF NOT EXISTS prefs (x INTEGER);
        CREATE TABLE tags (name TEXT PRIMARY KEY, CONSTRAINT ignored_name UNIQUE (name) ON CONFLICT REPLACE);
    """,
}


@pytest.mark.parametrize("name", sorted(POSTGRES_SCRIPTS))
def test_postgres_files_match_live_database(pg_database, name):
    ddl = POSTGRES_SCRIPTS[name]
    with psycopg.connect(pg_database, autocommit=True) as conn:
        for statement in ddl.split(";"):
            if statement.strip():
                conn.execute(statement)
    from_files, live = catalog_from_sql(ddl, "postgres"), introspect_postgres(pg_database)
    assert from_files.diagnostics == []
    assert comparable(from_files) == comparable(live)
    assert foreign_key_set(from_files, names=True) == foreign_key_set(live, names=True)


@pytest.mark.parametrize("name", sorted(SQLITE_SCRIPTS))
def test_sqlite_files_match_live_database(tmp_path, name):
    ddl = SQLITE_SCRIPTS[name]
    path = tmp_path / "db.sqlite"
    with sqlite3.connect(path) as conn:
        conn.executescript(ddl)
    conn.close()
    from_files, live = catalog_from_sql(ddl, "sqlite"), introspect_sqlite(str(path))
    assert from_files.diagnostics == []
    assert comparable(from_files) == comparable(live)
    assert foreign_key_set(from_files, names=True) == foreign_key_set(live, names=True)
