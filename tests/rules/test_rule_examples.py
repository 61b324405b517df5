"""Every rule's own examples become tests (Fixit's model), twice over:

* static: the rule reports every invalid example and no valid one;
* oracle: the real database rejects every invalid example with the error the
  rule names, and runs every valid one.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from auditor.model import Location
from auditor.resources import rules_dir
from auditor.rulebook import REQUIRED_ATTRIBUTES, builtin_rules
from auditor.schema import catalog_from_sql
from auditor.sites import SiteStatus, SqlCall, WriteSite
from auditor.sql.statement import parse_write_statements

psycopg = pytest.importorskip("psycopg")

RULES = builtin_rules()


def cases():
    for rule in RULES:
        for kind in ("valid", "invalid"):
            for index, example in enumerate(e for e in rule.examples if e.valid == (kind == "valid")):
                for dialect in example.dialects:
                    yield pytest.param(rule, example, dialect, id=f"{rule.id}-{kind}-{index}-{dialect}")


CASES = list(cases())


@pytest.mark.parametrize(("rule", "example", "dialect"), CASES)
def test_rule_reports_exactly_the_invalid_examples(rule, example, dialect):
    catalog = catalog_from_sql(example.schema, dialect)
    assert catalog.diagnostics == []
    [statement], error = parse_write_statements(example.sql, dialect)
    assert error is None
    table = catalog.lookup(statement.table)
    assert table is not None
    site = WriteSite(SqlCall(Location("example.py", 1), "execute", example.sql), dialect, statement, SiteStatus.CHECKED)
    findings = list(rule.findings(site, table))
    if example.valid:
        assert findings == []
    else:
        assert len(findings) == 1
        assert findings[0].rule == rule.id and findings[0].evidence


def _run_postgres(url: str, example) -> str | None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(example.schema)
        if example.setup:
            conn.execute(example.setup)
        try:
            conn.execute(example.sql)
        except psycopg.Error as error:
            return error.sqlstate
    return None


def _run_sqlite(path: Path, example) -> str | None:
    conn = sqlite3.connect(path)
    try:
        conn.executescript(example.schema + ";" + example.setup)
        conn.execute(example.sql)
        conn.commit()
    except sqlite3.Error as error:
        return str(error)
    finally:
        conn.close()
    return None


def _row_counts_postgres(url: str, example, table: str) -> tuple[int, int, int]:
    """Rows in `table` after the setup, after running the example once, and after twice."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(example.schema)
        if example.setup:
            conn.execute(example.setup)
        counts = [conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]]
        for _ in range(2):
            conn.execute(example.sql)
            counts.append(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    return tuple(counts)


def _row_counts_sqlite(path: Path, example, table: str) -> tuple[int, int, int]:
    conn = sqlite3.connect(path)
    try:
        conn.executescript(example.schema + ";" + example.setup)
        counts = [conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]]
        for _ in range(2):
            conn.execute(example.sql)
            counts.append(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
        conn.commit()
    finally:
        conn.close()
    return tuple(counts)


SILENT_CASES = [case for case in CASES if case.values[0].claim in ("duplicates", "skips")]


@pytest.mark.parametrize(("rule", "example", "dialect"), SILENT_CASES)
def test_database_does_silently_what_the_rule_claims(rule, example, dialect, request, tmp_path):
    """Claims about statements that run without an error, checked by counting rows:
    "duplicates": a second run adds rows instead of merging;
    "skips": the row is not inserted, and no error says so."""
    [statement], _ = parse_write_statements(example.sql, dialect)
    table = str(statement.table)
    if dialect == "postgres":
        before, first, second = _row_counts_postgres(request.getfixturevalue("pg_database"), example, table)
    else:
        before, first, second = _row_counts_sqlite(tmp_path / "oracle.sqlite", example, table)
    if rule.claim == "duplicates":
        assert (second == first) if example.valid else (second > first), f"rows: {before}, {first}, {second}"
    else:
        assert (first == before + 1) if example.valid else (first == before), f"rows: {before}, {first}, {second}"


@pytest.mark.parametrize(("rule", "example", "dialect"), [c for c in CASES if c.values[0].claim == "fails"])
def test_database_agrees_with_the_example(rule, example, dialect, request, tmp_path):
    if dialect == "postgres":
        outcome = _run_postgres(request.getfixturevalue("pg_database"), example)
        expected = example.sqlstate
    else:
        outcome = _run_sqlite(tmp_path / "oracle.sqlite", example)
        expected = example.sqlite_error
    if example.valid:
        assert outcome is None, f"the database rejected a valid example: {outcome}"
    else:
        assert outcome is not None, "the database ran an invalid example"
        assert expected in outcome


def test_every_rule_is_complete():
    files = sorted(p.stem for p in rules_dir().glob("ups*.py"))
    assert [r.id.lower() for r in RULES] == [f.split("_")[0] for f in files]
    assert len({r.id for r in RULES}) == len(RULES) and len({r.name for r in RULES}) == len(RULES)
    for rule in RULES:
        for attribute in REQUIRED_ATTRIBUTES:
            assert getattr(rule, attribute), f"{rule.id} lacks {attribute}"
        assert re.fullmatch(r"[a-z]+(-[a-z]+)+", rule.name)
        assert any(e.valid for e in rule.examples) and any(not e.valid for e in rule.examples)
        # A rule claims failures only where it applies; a valid example may also run on a
        # dialect outside the rule, to show the database there accepts the statement.
        assert set(d for e in rule.examples if not e.valid for d in e.dialects) <= set(rule.dialects)
        for example in rule.examples:
            if not example.valid and rule.claim == "fails":
                assert "postgres" not in example.dialects or example.sqlstate, rule.id
                assert "sqlite" not in example.dialects or example.sqlite_error, rule.id
        assert rule.claim in ("fails", "duplicates", "skips")
        docs = rule.docs_markdown()
        for section in ("### What it does", "### Why is this bad?", "### Example", "### Use instead"):
            assert section in docs
