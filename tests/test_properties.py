"""Property-based tests (Hypothesis): extraction, SQL analysis and rules never raise."""

from __future__ import annotations

import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor.model import Location
from auditor.python import python_files, scan_python_files
from auditor.rulebook import builtin_rules
from auditor.schema import catalog_from_sql
from auditor.sites import SiteStatus, SqlCall, WriteSite
from auditor.sql.statement import parse_write_statements

SCHEMA = """
CREATE TABLE t (id int PRIMARY KEY, a text, b int, c text, d timestamptz,
                UNIQUE (a, b), CONSTRAINT t_c_key UNIQUE (c) DEFERRABLE);
CREATE UNIQUE INDEX t_live_a ON t (a) WHERE d IS NULL;
CREATE UNIQUE INDEX t_lower_c ON t (lower(c));
"""
CATALOG = catalog_from_sql(SCHEMA, "postgres")
TABLE = next(iter(CATALOG.tables.values()))
RULES = builtin_rules()

columns = st.sampled_from(["id", "a", "b", "c", "d", "lower(c)", "x", '"A"'])
placeholders = st.sampled_from(["%s", "%(v)s", "$1", "?", ":v", "1", "'s'", "NULL"])


@st.composite
def upserts(draw):
    """INSERT ... ON CONFLICT statements over every target shape the rules look at."""
    cols = draw(st.lists(st.sampled_from(["id", "a", "b", "c", "d"]), min_size=1, max_size=4, unique=True))
    values = ", ".join(draw(placeholders) for _ in cols)
    target = draw(st.one_of(
        st.just(""),
        st.builds(lambda t: f"({', '.join(t)})", st.lists(columns, min_size=1, max_size=3)),
        st.builds(lambda t, p: f"({', '.join(t)}) WHERE {p}", st.lists(columns, min_size=1, max_size=2),
                  st.sampled_from(["d IS NULL", "d IS NULL AND b > 0", "b = $1", "a <> ''"])),
        st.sampled_from(["ON CONSTRAINT t_pkey", "ON CONSTRAINT t_c_key", "ON CONSTRAINT t_live_a", "ON CONSTRAINT nope"]),
    ))
    action = draw(st.sampled_from(["DO NOTHING", f"DO UPDATE SET {cols[0]} = EXCLUDED.{cols[0]}"]))
    return f"INSERT INTO t ({', '.join(cols)}) VALUES ({values}) ON CONFLICT {target} {action}"


@settings(max_examples=300, deadline=None)
@given(upserts())
def test_rules_never_raise_on_generated_upserts(sql):
    statements, error = parse_write_statements(sql, "postgres")
    for statement in statements:
        site = WriteSite(SqlCall(Location("x.py", 1), "execute", sql), "postgres", statement, SiteStatus.CHECKED)
        for rule in RULES:
            for finding in rule.findings(site, TABLE):
                assert finding.message and finding.fix


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=string.printable + "$¿\u00e9\u2028", max_size=200), st.sampled_from(["postgres", "sqlite", "mysql"]))
def test_sql_analysis_never_raises_on_arbitrary_text(text, dialect):
    statements, error = parse_write_statements(text, dialect)
    assert error is None or isinstance(error, str)
    catalog_from_sql(text, dialect)  # the schema reader: diagnostics, never exceptions


python_snippets = st.lists(
    st.sampled_from([
        "cur.execute({sql!r})", "cur.execute(Q)", "Q = {sql!r}", "cur.executemany(f'{{Q}} x', rows)",
        "def f(q):\n    cur.execute(q)", "cur.execute({sql!r} + {sql!r})", "x = (", "cur.fetch(*args)",
        "cur.execute(sql={sql!r})", "execute_values(cur, {sql!r}, rows)", "class C:\n    def m(self):\n        self.c.execute(Q % (1,))",
    ]),
    min_size=1, max_size=6,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(python_snippets, upserts())
def test_extraction_never_raises_on_generated_modules(tmp_path, lines, sql):
    (tmp_path / "gen.py").write_text("\n".join(line.format(sql=sql) for line in lines) + "\n")
    scan = scan_python_files(tmp_path, python_files(tmp_path))
    assert all(c.sql is not None or c.unresolved_reason for c in scan.calls)
    assert all(d.kind in ("syntax-error",) for d in scan.diagnostics)
