"""MySQL / MariaDB DDL read from files must equal what MariaDB reports after running it,
key names included (MySQL names unnamed keys after their first column)."""

from __future__ import annotations

import pytest

from auditor.schema import catalog_from_sql
from auditor.schema.compare import comparable, foreign_key_set
from auditor.schema.live_mysql import introspect_mysql

pymysql = pytest.importorskip("pymysql")

SCRIPTS = {
    "foreign-keys": """
        CREATE TABLE parents (id INT PRIMARY KEY, code VARCHAR(20) UNIQUE, region INT, number INT, UNIQUE (region, number));
        CREATE TABLE children (
            id INT PRIMARY KEY,
            parent_id INT REFERENCES parents (id),
            region INT, number INT,
            FOREIGN KEY (region, number) REFERENCES parents (region, number),
            CONSTRAINT children_code FOREIGN KEY (id) REFERENCES parents (id)
        );
        CREATE TABLE notes (id INT PRIMARY KEY, child INT, author INT, FOREIGN KEY (author) REFERENCES children (id));
        ALTER TABLE notes ADD CONSTRAINT notes_child_fk FOREIGN KEY (child) REFERENCES children (id);
        ALTER TABLE notes ADD FOREIGN KEY (author) REFERENCES children (id);
        ALTER TABLE notes ADD FOREIGN KEY (child) REFERENCES children (id);
        ALTER TABLE notes DROP FOREIGN KEY notes_ibfk_2;
        ALTER TABLE children DROP FOREIGN KEY children_code;
        RENAME TABLE notes TO memos;
        ALTER TABLE children RENAME COLUMN region TO area;
        RENAME TABLE parents TO mothers;
    """,
    "create-table-keys": """
        CREATE TABLE users (
            id INT AUTO_INCREMENT PRIMARY KEY,
            email VARCHAR(200) NOT NULL UNIQUE,
            tenant_id INT NOT NULL,
            handle VARCHAR(40),
            bio TEXT,
            UNIQUE KEY users_tenant_handle (tenant_id, handle),
            UNIQUE INDEX (handle),
            CONSTRAINT users_bio_prefix UNIQUE (bio(50)),
            KEY users_plain (tenant_id)
        ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
    """,
    "default-names-clash": """
        CREATE TABLE t (a INT, b INT, UNIQUE (a), UNIQUE (a, b), UNIQUE (a));
        ALTER TABLE t ADD UNIQUE (b);
        ALTER TABLE t ADD UNIQUE KEY (b, a);
    """,
    "alter-history": """
        CREATE TABLE `Orders` (`Id` INT NOT NULL, `Ref` VARCHAR(20), shop INT, note VARCHAR(10));
        ALTER TABLE `Orders` ADD PRIMARY KEY (`Id`);
        ALTER TABLE `Orders` ADD UNIQUE KEY orders_ref (`Ref`);
        ALTER TABLE `Orders` ADD CONSTRAINT orders_shop_ref UNIQUE (shop, `Ref`);
        CREATE UNIQUE INDEX orders_note ON `Orders` (note);
        ALTER TABLE `Orders` DROP INDEX orders_ref;
        ALTER TABLE `Orders` RENAME INDEX orders_shop_ref TO orders_shop_ref2;
        ALTER TABLE `Orders` MODIFY shop INT NOT NULL;
        ALTER TABLE `Orders` CHANGE COLUMN note memo VARCHAR(10) NULL;
        DROP INDEX orders_note ON `Orders`;
        ALTER TABLE `Orders` ADD COLUMN ext INT UNIQUE;
        RENAME TABLE `Orders` TO purchases;
        CREATE TABLE gone (id INT PRIMARY KEY);
        DROP TABLE gone;
        CREATE TABLE pk_swap (a INT NOT NULL, b INT NOT NULL, PRIMARY KEY (a));
        ALTER TABLE pk_swap DROP PRIMARY KEY, ADD PRIMARY KEY (a, b);
    """,
}


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_mysql_files_match_live_mariadb(mariadb_database, mariadb_url, name):
    ddl = SCRIPTS[name]
    conn = pymysql.connect(**mariadb_database)
    with conn.cursor() as cursor:
        for statement in ddl.split(";"):
            if statement.strip():
                cursor.execute(statement)
    conn.close()
    from_files, live = catalog_from_sql(ddl, "mysql"), introspect_mysql(mariadb_url)
    assert from_files.diagnostics == []
    assert comparable(from_files) == comparable(live)
    assert foreign_key_set(from_files, names=True) == foreign_key_set(live, names=True)
