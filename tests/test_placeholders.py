"""Every driver placeholder style is normalised before SQL is parsed."""

import pytest

from auditor.sql.placeholders import normalize_placeholders, numbered_placeholders


@pytest.mark.parametrize(
    ("sql", "style", "params"),
    [
        ("INSERT INTO t (a, b) VALUES (%s, %s)", "format", ("1", "2")),
        ("INSERT INTO t (a, b) VALUES (%(a)s, %(b)s)", "pyformat", ("a", "b")),
        ("INSERT INTO t (a, b) VALUES ($1, $2)", "numeric", ("1", "2")),
        ("INSERT INTO t (a, b) VALUES (?, ?)", "qmark", ("1", "2")),
        ("INSERT INTO t (a, b) VALUES (:a, :b)", "named", ("a", "b")),
    ],
)
def test_each_style_becomes_qmark(sql, style, params):
    result = normalize_placeholders(sql)
    assert result.sql == "INSERT INTO t (a, b) VALUES (?, ?)"
    assert result.styles == {style}
    assert result.parameters == params


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 'it''s ? %s :x $1'",
        'SELECT "odd?name" FROM t',
        "SELECT x::int, y::text FROM t",
        "SELECT $$ body ? :x $$",
        "SELECT $fn$ body %s $fn$",
        "SELECT 1 -- what? :x\n",
        "SELECT /* ? %s */ 1",
    ],
)
def test_literals_comments_and_casts_are_untouched(sql):
    result = normalize_placeholders(sql)
    assert result.sql == sql
    assert result.parameters == ()


def test_pyformat_percent_escape_becomes_a_percent_sign():
    assert normalize_placeholders("SELECT 100 %% 7, %s").sql == "SELECT 100 % 7, ?"


def test_numbered_form_for_prepare():
    sql = "INSERT INTO t VALUES (%s, %(x)s, '?', :y) -- ?"
    assert numbered_placeholders(sql) == "INSERT INTO t VALUES ($1, $2, '?', $3) -- ?"
