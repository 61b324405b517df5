"""SQL write statements parsed into what rules need."""

import pytest

from auditor.model import TableName
from auditor.sites import ConflictAction, WriteKind
from auditor.sql.statement import parse_write_statements


def one(sql, dialect="postgres"):
    statements, error = parse_write_statements(sql, dialect)
    assert error is None
    [statement] = statements
    return statement


@pytest.mark.parametrize(
    "values", ["(%s, %s)", "(%(a)s, %(b)s)", "($1, $2)", "(?, ?)", "(:a, :b)"]
)
def test_every_placeholder_style_parses_the_same(values):
    statement = one(f"INSERT INTO t (a, b) VALUES {values} ON CONFLICT (a) DO UPDATE SET b = EXCLUDED.b")
    assert statement.kind is WriteKind.INSERT
    assert statement.columns == ("a", "b")
    assert statement.conflict.action is ConflictAction.UPDATE
    assert [e.text for e in statement.conflict.target] == ["a"]
    assert statement.conflict.update_columns == ("b",)
    assert statement.normalized_sql == "INSERT INTO t (a, b) VALUES (?, ?) ON CONFLICT (a) DO UPDATE SET b = EXCLUDED.b"


def test_expression_target_predicate_and_parameter():
    s = one('INSERT INTO app."Users" AS u (email) VALUES (%s) ON CONFLICT (LOWER((email))) WHERE (deleted_at IS NULL) AND status = %s DO NOTHING')
    assert s.table == TableName("app", "Users")
    [element] = s.conflict.target
    assert (element.text, element.is_expression, element.columns) == ("lower(email)", True, ("email",))
    assert s.conflict.index_predicate_conjuncts == ("deleted_at IS NULL", "status = ?")
    assert s.conflict.predicate_has_parameter
    assert s.conflict.action is ConflictAction.NOTHING


def test_on_constraint_and_targetless():
    assert one("INSERT INTO t (a) VALUES (1) ON CONFLICT ON CONSTRAINT T_Pkey DO NOTHING").conflict.constraint == "t_pkey"
    targetless = one("INSERT INTO t (a) VALUES (1) ON CONFLICT DO NOTHING").conflict
    assert targetless.target == () and targetless.constraint is None


def test_mysql_shapes():
    odku = one("INSERT INTO t (a, b) VALUES (%s, %s) ON DUPLICATE KEY UPDATE b = VALUES(b)", "mysql")
    assert odku.conflict.action is ConflictAction.DUPLICATE_KEY_UPDATE and odku.conflict.update_columns == ("b",)
    ignore = one("INSERT IGNORE INTO t (a) VALUES (1)", "mysql")
    assert ignore.or_action == "IGNORE"
    replace = one("REPLACE INTO shop.t (a, b) VALUES (%s, %s)", "mysql")
    assert (replace.kind, replace.table, replace.columns) == (WriteKind.REPLACE, TableName("shop", "t"), ("a", "b"))


def test_sqlite_insert_or_replace():
    s = one("INSERT OR REPLACE INTO t (a) VALUES (?)", "sqlite")
    assert (s.kind, s.or_action) == (WriteKind.REPLACE, "REPLACE")


def test_update_delete_merge_and_scripts():
    statements, error = parse_write_statements(
        "SELECT 1; UPDATE t SET a = 1 WHERE id = %s; DELETE FROM u; MERGE INTO m USING s ON m.k = s.k WHEN MATCHED THEN UPDATE SET v = s.v",
        "postgres",
    )
    assert error is None
    assert [(s.kind, s.table.name) for s in statements] == [(WriteKind.UPDATE, "t"), (WriteKind.DELETE, "u"), (WriteKind.MERGE, "m")]


def test_reads_are_not_write_statements():
    assert parse_write_statements("SELECT * FROM t WHERE id = %s", "postgres") == ([], None)


@pytest.mark.parametrize("sql", ["INSERT INTO t VALUES (((", "INSERT INTO", "UPDATE t SET = 1", "INSERT INTO t (a) VALUES (1) ON CONFLICT (a) DO"])
def test_unparseable_sql_is_an_error_not_an_exception(sql):
    statements, error = parse_write_statements(sql, "postgres")
    assert statements == []
    assert error
