"""Rules that stay quiet where the code is right (issue 17), beyond what each rule's own
examples show: facts the statement reader gives them and the words of their messages.
The database side of each case is in the rule's VALID / INVALID examples."""

from __future__ import annotations

import pytest

from auditor.config import load_config
from auditor.engine import run_audit, write_sites
from auditor.model import Location
from auditor.rulebook import builtin_rules
from auditor.schema import catalog_from_sql
from auditor.sites import SqlCall
from auditor.sql.statement import parse_write_statements, same_parameter_updates


def rule(rule_id: str):
    return next(r for r in builtin_rules() if r.id == rule_id)


def findings(rule_id: str, schema: str, sql: str, dialect: str = "postgres"):
    catalog = catalog_from_sql(schema, dialect)
    [site] = write_sites(SqlCall(Location("app.py", 1), "execute", sql), dialect, catalog)
    return list(rule(rule_id).findings(site, catalog.lookup(site.statement.table)))


@pytest.mark.parametrize(
    ("sql", "dialect", "same"),
    [
        ("INSERT INTO t (k, n) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET k = $1, n = $2", "postgres", ("k", "n")),
        ("INSERT INTO t (k, n) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET k = $2", "postgres", ()),
        ("INSERT INTO t (k, n) VALUES (:k, :n) ON CONFLICT (k) DO UPDATE SET k = :k", "sqlite", ("k",)),
        ("INSERT INTO t (k, n) VALUES (%(k)s, 1) ON DUPLICATE KEY UPDATE k = %(k)s", "mysql", ("k",)),
        # each positional placeholder is a value of its own
        ("INSERT INTO t (k, n) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET k = ?", "sqlite", ()),
        ("INSERT INTO t (k, n) VALUES (%s, %s) ON CONFLICT (k) DO UPDATE SET k = %s", "postgres", ()),
        # a parameter in a CTE comes first in the text: positions, not tree order, name them
        ("WITH x AS (SELECT %(a)s) INSERT INTO t (k, n) VALUES (%(k)s::int, %(n)s) ON CONFLICT (k) DO UPDATE SET k = %(k)s",
         "postgres", ("k",)),
        ("INSERT INTO t (k, n) VALUES (:k, '?') ON CONFLICT (k) DO UPDATE SET k = :other", "postgres", ()),
        # two rows that insert different parameters into k: not the row's own value
        ("INSERT INTO t (k) VALUES (:a), (:b) ON CONFLICT (k) DO UPDATE SET k = :a", "postgres", ()),
    ],
)
def test_same_parameter_in_values_and_set_is_the_rows_own_value(sql, dialect, same):
    assert same_parameter_updates(sql, dialect) == same
    [statement], _ = parse_write_statements(sql, dialect)
    assert set(same) <= set(statement.conflict.identity_updates)


def test_ups013_quiet_on_the_same_named_parameter_and_loud_on_another():
    schema = "CREATE TABLE slots (k int NOT NULL UNIQUE, n int);"
    same = "INSERT INTO slots (k, n) VALUES (%(k)s, %(n)s) ON CONFLICT (k) DO UPDATE SET k = %(k)s, n = %(n)s"
    assert findings("UPS013", schema, same) == []
    assert len(findings("UPS013", schema, same.replace("SET k = %(k)s", "SET k = %(n)s"))) == 1


def test_ups010_on_do_nothing_says_skipped_not_updated():
    schema = "CREATE TABLE prefs (tenant_id int, key text NOT NULL, UNIQUE (tenant_id, key));"
    insert = "INSERT INTO prefs (tenant_id, key) VALUES (%s, %s) ON CONFLICT (tenant_id, key) "
    [skip] = findings("UPS010", schema, insert + "DO NOTHING")
    assert "instead of skipping it" in skip.message and "updating" not in skip.message
    [update] = findings("UPS010", schema, insert + "DO UPDATE SET key = EXCLUDED.key")
    assert "instead of updating" in update.message


# A project's own relation field, which the peewee reader does not know as a relation: it
# takes the field `robot` as a column of that name, while the table stores robot_id.
OWN_FIELD_MODELS = '''
from peewee import CharField, ForeignKeyField, Model

class UserField(ForeignKeyField):
    pass

class RobotMeta(Model):
    robot = UserField()
    note = CharField()

    class Meta:
        table_name = "robotmeta"

def metadata(robot):
    return RobotMeta.get_or_create(robot=robot, defaults={"note": ""})
'''
OWN_FIELD_SCHEMA = """
CREATE TABLE users (id integer PRIMARY KEY);
CREATE TABLE robotmeta (id integer PRIMARY KEY, robot_id integer NOT NULL REFERENCES users (id), note text NOT NULL);
"""


@pytest.mark.parametrize("unique", [True, False])
def test_ups201_reads_an_unknown_relation_field_as_its_id_column(unique, make_project):
    schema = OWN_FIELD_SCHEMA + ("CREATE UNIQUE INDEX robotmeta_robot_id ON robotmeta (robot_id);" if unique else "")
    files = {"app/models.py": OWN_FIELD_MODELS, "schema.sql": schema, "pyproject.toml": '[tool.upsert-audit]\ndialect = "sqlite"\n'}
    result = run_audit(load_config(make_project(files)))
    found = [f for f in result.findings if f.rule == "UPS201"]
    if unique:
        assert found == []
    else:
        [finding] = found
        assert "(robot_id)" in finding.message


def test_ups201_is_quiet_on_a_field_the_schema_has_no_column_for(make_project):
    models = OWN_FIELD_MODELS.replace("get_or_create(robot=robot,", "get_or_create(owner=robot,")
    files = {"app/models.py": models, "schema.sql": OWN_FIELD_SCHEMA, "pyproject.toml": '[tool.upsert-audit]\ndialect = "sqlite"\n'}
    result = run_audit(load_config(make_project(files)))
    assert [f for f in result.findings if f.rule == "UPS201"] == []


DEFAULTS_DDL = """
CREATE TABLE stats (
    k varchar(20) PRIMARY KEY, v int, n int NOT NULL DEFAULT 0, seen timestamp DEFAULT now(),
    touched timestamp DEFAULT CURRENT_TIMESTAMP, note text, later text
);
ALTER TABLE stats ALTER COLUMN later SET DEFAULT 'x';
ALTER TABLE stats ALTER COLUMN n DROP DEFAULT;
"""


def test_column_defaults_read_from_ddl_match_the_live_database(pg_database):
    """Which columns have a DEFAULT (what UPS015 needs): the SQL reader and the live
    PostgreSQL reader agree after the same DDL (the texts differ: 'x' is 'x'::text there)."""
    import psycopg

    from auditor.schema.live_postgres import introspect_postgres

    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute(DEFAULTS_DDL)
    [static] = catalog_from_sql(DEFAULTS_DDL, "postgres").tables.values()
    [live] = introspect_postgres(pg_database).tables.values()
    has_default = {c.name: c.default is not None for c in static.columns.values()}
    assert has_default == {c.name: c.default is not None for c in live.columns.values()}
    assert [c for c, known in has_default.items() if known] == ["seen", "touched", "later"]


def test_ups015_reports_only_columns_without_a_default():
    schema = DEFAULTS_DDL
    upsert = "INSERT INTO stats (k, v) VALUES (%s, %s) ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v, {}"
    touch = upsert.format("seen = EXCLUDED.seen, touched = EXCLUDED.touched, later = EXCLUDED.later")
    assert findings("UPS015", schema, touch) == []
    [lost] = findings("UPS015", schema, upsert.format("seen = EXCLUDED.seen, n = EXCLUDED.n, note = EXCLUDED.note"))
    assert "n, note" in lost.message and "NULL" in lost.message and "seen" not in lost.message


ACCOUNTS = """
CREATE TABLE accounts (id int PRIMARY KEY, email text, handle text, name text, CONSTRAINT accounts_email_key UNIQUE (email));
CREATE UNIQUE INDEX accounts_handle_live ON accounts (handle) WHERE name IS NOT NULL;
"""


@pytest.mark.parametrize(
    ("sql", "reported"),
    [
        ("INSERT INTO accounts (id, email) VALUES (%s, %s) ON CONFLICT ON CONSTRAINT accounts_pkey DO NOTHING", True),
        ("INSERT INTO accounts (id, email) VALUES (%s, %s) ON CONFLICT (email) DO UPDATE SET id = accounts.id", False),  # primary key
        ("INSERT INTO accounts (id, handle) VALUES (%s, %s) ON CONFLICT (id) DO NOTHING", False),  # partial: unknown
        ("INSERT INTO accounts (email, name) VALUES (%s, %s) ON CONFLICT (email) DO UPDATE SET name = EXCLUDED.name", False),
        ("INSERT INTO accounts (id, email) VALUES (%s, %s) ON CONFLICT (name) DO NOTHING", False),  # no arbiter: UPS001
    ],
)
def test_ups017_only_where_another_whole_key_is_written(sql, reported):
    found = findings("UPS017", ACCOUNTS, sql)
    assert len(found) == (1 if reported else 0)
    if reported:
        assert "23505" in found[0].message


def test_ups017_says_skipping_for_do_nothing():
    [finding] = findings("UPS017", ACCOUNTS, "INSERT INTO accounts (id, email) VALUES (%s, %s) ON CONFLICT (id) DO NOTHING", "sqlite")
    assert "instead of skipping" in finding.message and "UNIQUE constraint failed" in finding.message


@pytest.mark.parametrize(
    ("sql", "dialect", "key"),
    [
        ("INSERT INTO tags (name, note) SELECT %s, %s WHERE NOT EXISTS (SELECT 1 FROM tags WHERE name = %s)", "postgres", ("name",)),
        ("INSERT INTO tags (name, kind) SELECT v.name, 2 FROM (VALUES (%s)) AS v(name) "
         "WHERE NOT EXISTS (SELECT 1 FROM tags t WHERE t.name = v.name AND t.kind = 2)", "postgres", ("name", "kind")),
        ("INSERT INTO tags (name) SELECT %s FROM DUAL WHERE NOT EXISTS (SELECT 1 FROM tags WHERE name = %s)", "mysql", ("name",)),
        ("INSERT INTO tags (name) SELECT %s WHERE NOT EXISTS (SELECT 1 FROM other WHERE name = %s)", "postgres", ()),
        ("INSERT INTO tags (name) SELECT %s WHERE EXISTS (SELECT 1 FROM tags WHERE name = %s)", "postgres", ()),
        ("INSERT INTO tags (name) VALUES (%s)", "postgres", ()),
    ],
)
def test_not_exists_key_is_what_the_check_compares_on_the_same_table(sql, dialect, key):
    [statement], _ = parse_write_statements(sql, dialect)
    assert statement.not_exists_key == key


def test_ups107_quiet_with_the_key_or_an_on_conflict_clause():
    racy = "INSERT INTO tags (name, note) SELECT %s, %s WHERE NOT EXISTS (SELECT 1 FROM tags WHERE name = %s)"
    bare = "CREATE TABLE tags (id serial PRIMARY KEY, name text NOT NULL, note text);"
    assert len(findings("UPS107", bare, racy)) == 1
    assert findings("UPS107", bare.replace("name text NOT NULL", "name text NOT NULL UNIQUE"), racy) == []
    assert findings("UPS107", bare, racy + " ON CONFLICT DO NOTHING") == []


def test_ups017_quiet_on_a_key_sharing_a_column_with_the_target():
    """mautrix-telegram's reactions: upserted by (msg_mxid, mx_room, sender, reaction), with the
    event id unique per room beside it; lnbits' settings: PRIMARY KEY (id) under (id, tag)."""
    reactions = ("CREATE TABLE reaction (mxid text NOT NULL, mx_room text NOT NULL, msg_mxid text NOT NULL, sender int NOT NULL, "
                 "reaction text NOT NULL, PRIMARY KEY (msg_mxid, mx_room, sender, reaction), UNIQUE (mxid, mx_room));")
    upsert = ("INSERT INTO reaction (mxid, mx_room, msg_mxid, sender, reaction) VALUES ($1, $2, $3, $4, $5) "
              "ON CONFLICT (msg_mxid, mx_room, sender, reaction) DO UPDATE SET mxid = excluded.mxid")
    assert findings("UPS017", reactions, upsert) == []
    settings = "CREATE TABLE settings (id text PRIMARY KEY, tag text NOT NULL, value text, UNIQUE (id, tag));"
    assert findings("UPS017", settings, "INSERT INTO settings (id, value, tag) VALUES (:id, :v, :t) ON CONFLICT (id, tag) DO UPDATE SET value = :v") == []


CHECK_THEN_INSERT = '''
import {driver}

def save(cur, user_id, persona):
    cur.execute("SELECT id FROM avatars WHERE user_id = %s", (user_id,))
    if cur.fetchone() is None:
        cur.execute("INSERT INTO avatars (user_id, persona) VALUES (%s, %s)", (user_id, persona))
'''
UPDATE_THEN_INSERT = '''
import {driver}

def save(cur, user_id, persona):
    cur.execute("UPDATE avatars SET persona = %s WHERE user_id = %s", (persona, user_id))
    if cur.rowcount == 0:
        cur.execute("INSERT INTO avatars (user_id, persona) VALUES (%s, %s)", (user_id, persona))
'''


CAUGHT_CHECK_THEN_INSERT = '''
import {driver}

def save(cur, user_id, persona):
    cur.execute("SELECT id FROM avatars WHERE user_id = %s", (user_id,))
    if cur.fetchone() is None:
        try:
            cur.execute("INSERT INTO avatars (user_id, persona) VALUES (%s, %s)", (user_id, persona))
        except {driver}.errors.UniqueViolation:
            pass
'''
CAUGHT_UPDATE_THEN_INSERT = '''
import {driver}
from django.db import IntegrityError

def save(cur, user_id, persona):
    cur.execute("UPDATE avatars SET persona = %s WHERE user_id = %s", (persona, user_id))
    if cur.rowcount == 0:
        try:
            cur.execute("INSERT INTO avatars (user_id, persona) VALUES (%s, %s)", (user_id, persona))
        except IntegrityError:
            save(cur, user_id, persona)
'''


@pytest.mark.parametrize(
    ("code", "rule_id", "driver", "dialect", "keyed", "severity"),
    [
        (CHECK_THEN_INSERT, "UPS101", "psycopg", "postgres", False, "warning"),  # duplicates
        (CHECK_THEN_INSERT, "UPS101", "psycopg", "postgres", True, "warning"),  # the loser's 23505, uncaught
        (CAUGHT_CHECK_THEN_INSERT, "UPS101", "psycopg", "postgres", True, "info"),  # the 23505 is caught
        (CAUGHT_CHECK_THEN_INSERT, "UPS101", "psycopg", "postgres", False, "warning"),  # nothing to catch: duplicates
        (UPDATE_THEN_INSERT, "UPS102", "psycopg", "postgres", False, "warning"),
        (UPDATE_THEN_INSERT, "UPS102", "psycopg", "postgres", True, "warning"),
        (CAUGHT_UPDATE_THEN_INSERT, "UPS102", "psycopg", "postgres", True, "info"),
        (CAUGHT_UPDATE_THEN_INSERT, "UPS102", "pymysql", "mysql", True, "warning"),  # 1062 with no race (0 rows changed)
    ],
)
def test_a_keyed_race_is_info_only_where_the_code_catches_the_violation(make_project, code, rule_id, driver, dialect, keyed, severity):
    """The outcomes are the runtime race tests' (tests/runtime/test_race_idioms.py): without a
    key two writers leave two rows; with one the second fails with a unique violation, which
    is a failed request unless the code catches it around the insert."""
    key = " UNIQUE" if keyed else ""
    root = make_project({
        "schema.sql": f"CREATE TABLE avatars (id int PRIMARY KEY, user_id int NOT NULL{key}, persona text);\n",
        "app.py": code.format(driver=driver),
    })
    result = run_audit(load_config(root, dialect=dialect))
    [finding] = [f for f in result.findings if f.rule == rule_id]
    assert str(finding.severity) == severity


@pytest.mark.parametrize(
    ("schema", "sql", "severity"),
    [
        # every column written, two keys of one thing: only another key could pick a second row
        ("CREATE TABLE maps (id int PRIMARY KEY, md5 char(32) NOT NULL UNIQUE, plays int NOT NULL);",
         "REPLACE INTO maps (id, md5, plays) VALUES (1, 'x', 3)", "info"),
        # the same with a column left out: it goes back to its default, a loss
        ("CREATE TABLE maps (id int PRIMARY KEY, md5 char(32) NOT NULL UNIQUE, plays int NOT NULL DEFAULT 0);",
         "REPLACE INTO maps (id, md5) VALUES (1, 'x')", "warning"),
        # no key the statement can hit: a plain insert, nothing deleted
        ("CREATE TABLE peers (id integer PRIMARY KEY AUTO_INCREMENT, ip varchar(40) NOT NULL);",
         "REPLACE INTO peers (ip) VALUES ('1.2.3.4')", "info"),
    ],
)
def test_ups301_warns_where_the_replace_loses_something(schema, sql, severity):
    [finding] = findings("UPS301", schema, sql, "mysql")
    assert str(finding.severity) == severity


def test_a_check_then_update_whose_unique_violation_is_caught_is_info(make_project):
    """UPS108's own examples: the keyed rename that catches UniqueViolation around the UPDATE
    is info; the one that does not is a warning (the race itself: tests/runtime/
    test_check_then_update_race.py)."""
    from rules.ups108_check_then_update import CAUGHT, KEYED, RAW

    severities = []
    for code in (RAW, CAUGHT):
        root = make_project({"schema.sql": KEYED + "\n", "app.py": code})
        result = run_audit(load_config(root, dialect="postgres"))
        [finding] = [f for f in result.findings if f.rule == "UPS108"]
        severities.append(str(finding.severity))
    assert severities == ["warning", "info"]
