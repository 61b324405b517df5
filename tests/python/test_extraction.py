"""Finding SQL handed to execute-like calls, by reading the code only."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import auditor
from auditor.python import python_files, scan_python_files

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "avatar_app"


def scan(root: Path):
    return scan_python_files(root, python_files(root))


def sqls(result) -> list[str | None]:
    return [c.sql for c in result.calls]


def test_literal_shapes(make_project, tmp_path):
    result = scan(make_project({"app.py": '''
        import psycopg2
        from psycopg2.extras import execute_values

        def save(cur, conn, pool, rows):
            cur.execute("INSERT INTO a (x) VALUES (%s)", (1,))
            cur.execute("INSERT INTO b (x) "
                        "VALUES (%s)")
            cur.execute(
                """
                INSERT INTO c (x) VALUES (%s)
                """.strip()
            )
            cur.executemany(query="INSERT INTO d (x) VALUES (%s)", vars_list=rows)
            execute_values(cur, "INSERT INTO e (x) VALUES %s", rows)
            cur.execute("INSERT INTO f (x) " + "VALUES (1)")
    '''}))
    assert sqls(result)[:2] == ["INSERT INTO a (x) VALUES (%s)", "INSERT INTO b (x) VALUES (%s)"]
    assert result.calls[2].sql.strip() == "INSERT INTO c (x) VALUES (%s)"  # .strip() changes only whitespace
    assert sqls(result)[3:] == ["INSERT INTO d (x) VALUES (%s)", "INSERT INTO e (x) VALUES %s", "INSERT INTO f (x) VALUES (1)"]
    assert {c.driver for c in result.calls} == {"psycopg2"}
    assert [(c.api, c.location.line, c.location.column) for c in result.calls][:2] == [("execute", 6, 5), ("execute", 7, 5)]


def test_constants_across_modules_with_origin(make_project, tmp_path):
    result = scan(make_project({
        "app/__init__.py": "",
        "app/sql.py": '''
            TABLE = "users"
            UPSERT = (
                f"INSERT INTO {TABLE} (id) VALUES ($1) "
                "ON CONFLICT (id) DO NOTHING"
            )
            TWICE = "a"
            TWICE = "b"
        ''',
        "app/store.py": '''
            import asyncpg
            from app.sql import UPSERT
            from . import sql as queries
            import app.sql
            from .sql import TWICE

            async def save(conn):
                await conn.execute(UPSERT, 1)
                await conn.fetchrow(queries.UPSERT)
                await conn.execute(app.sql.UPSERT)
                await conn.execute(TWICE)
        ''',
    }))
    expected = "INSERT INTO users (id) VALUES ($1) ON CONFLICT (id) DO NOTHING"
    assert sqls(result)[:3] == [expected] * 3
    assert {(c.origin.path, c.origin.line) for c in result.calls[:3]} == {("app/sql.py", 4)}
    assert result.calls[0].driver == "asyncpg" and result.calls[1].api == "fetchrow"
    assert result.calls[3].sql is None and "assigned more than once" in result.calls[3].unresolved_reason


def test_locals_parameters_and_formatting(make_project, tmp_path):
    result = scan(make_project({"app.py": '''
        import sqlite3
        from sqlalchemy import text, insert

        T = "events"

        def write(conn, query, table, stmt_obj):
            sql = "INSERT INTO t (a) VALUES (?)"
            conn.execute(sql)
            conn.execute(query)
            conn.execute("INSERT INTO %s (a) VALUES (1)" % T)
            conn.execute("INSERT INTO {} (a) VALUES (1)".format(T))
            conn.execute("INSERT INTO %s (a) VALUES (1)" % table)
            conn.execute(text("INSERT INTO t (a) VALUES (:a)"), {"a": 1})
            conn.execute(insert(Model).values(a=1))
            stmt = insert(Model).on_conflict_do_nothing()
            conn.execute(stmt)
            conn.execute(build_sql())
    '''}))
    by_line = {c.location.line: c for c in result.calls}
    assert by_line[9].sql == "INSERT INTO t (a) VALUES (?)"
    assert (by_line[9].origin.line, by_line[9].origin.column) == (8, 11)  # the local's string: where a finding's SQL is
    assert by_line[10].unresolved_reason == "name 'query' is a function parameter"
    assert by_line[11].sql == by_line[12].sql == "INSERT INTO events (a) VALUES (1)"
    # the table is a parameter: the rest of the statement is still known, the table is a hole
    assert by_line[13].sql == "INSERT INTO __ua_unknown__ (a) VALUES (1)"
    assert by_line[13].holes == ("name 'table' is a function parameter",)
    assert by_line[14].sql == "INSERT INTO t (a) VALUES (:a)"  # text() unwrapped: one site, at execute
    assert 15 not in by_line  # a plain SQLAlchemy insert() is not an upsert: no site
    # an upsert construct is, written as the SQL it compiles to (the engine fills in Model's table)
    assert by_line[17].sql == 'INSERT INTO "<model:Model>" DEFAULT VALUES ON CONFLICT DO NOTHING'
    assert "build_sql" in by_line[18].unresolved_reason
    assert {c.driver for c in result.calls} == {"sqlite3"}


def test_sql_outside_execute_calls_is_not_a_site(make_project, tmp_path):
    result = scan(make_project({"app.py": '''
        """INSERT INTO docs (a) VALUES (1) ON CONFLICT (a) DO NOTHING"""
        import logging
        log = logging.getLogger(__name__)
        # cur.execute("INSERT INTO commented (a) VALUES (1)")
        UNUSED = "INSERT INTO unused (a) VALUES (1)"

        def f(cur):
            """cur.execute("INSERT INTO docstring (a) VALUES (1)")"""
            log.info("INSERT INTO logged (a) VALUES (1) ON CONFLICT (a) DO NOTHING")
            print("INSERT INTO printed (a) VALUES (1)")
            cur.execute("INSERT INTO real (a) VALUES (1)")
    '''}))
    assert sqls(result) == ["INSERT INTO real (a) VALUES (1)"]


def test_files_without_execute_calls_are_not_parsed(make_project, tmp_path):
    result = scan(make_project({"a.py": "x = 1\n", "b.py": "cur.execute('DELETE FROM t')\n", "venv/lib.py": "cur.execute('x')\n"}))
    assert (result.files_seen, result.files_parsed) == (2, 1)


def test_bad_files_are_diagnosed_and_the_rest_is_scanned(make_project, tmp_path):
    result = scan(make_project({
        "broken.py": "def f(:\n    cur.execute('INSERT INTO t VALUES (1)')\n",
        "latin1.py": b"cur.execute('INSERT INTO t VALUES (1)')\ns = '\xe9\xff'\n",
        "declared.py": b"# -*- coding: latin-1 -*-\ncur.execute('INSERT INTO caf\xe9 VALUES (1)')\n",
        # a codec registered at run time (future-fstrings, for Python 2): UTF-8 text
        "runtime_codec.py": "# -*- coding: future_fstrings -*-\ncur.execute(f'INSERT INTO r\u00e9sum\u00e9 VALUES (1)')\n".encode(),
        "runtime_codec_not_utf8.py": b"# -*- coding: future_fstrings -*-\ns = '\xe9\xff'\ncur.execute('INSERT INTO t VALUES (1)')\n",
        "nul.py": b"cur.execute('x')\x00\n",
        "good.py": "cur.execute('INSERT INTO ok VALUES (1)')\n",
    }))
    assert {(d.path, d.kind) for d in result.diagnostics} == {
        ("broken.py", "syntax-error"), ("latin1.py", "decode-error"), ("nul.py", "decode-error"),
        ("runtime_codec_not_utf8.py", "decode-error"),
    }
    assert sorted(filter(None, sqls(result))) == ["INSERT INTO café VALUES (1)", "INSERT INTO ok VALUES (1)", "INSERT INTO résumé VALUES (1)"]


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="the running Python parses PEP 695 itself")
def test_newer_syntax_is_read_through_libcst(make_project, tmp_path):
    result = scan(make_project({"modern.py": '''
        import sqlite3

        UPSERT = "INSERT INTO t (a) VALUES (?) ON CONFLICT (a) DO NOTHING"

        def first[T](items: list[T]) -> T:
            return items[0]

        def save(conn, sql):
            conn.execute("INSERT INTO t (a) VALUES (1)")
            conn.execute(UPSERT)
            conn.execute(sql)
    '''}))
    assert result.diagnostics == []
    assert sqls(result) == ["INSERT INTO t (a) VALUES (1)", "INSERT INTO t (a) VALUES (?) ON CONFLICT (a) DO NOTHING", None]
    assert result.calls[1].origin.line == 4 and result.calls[0].driver == "sqlite3"


def test_audited_code_is_never_imported(make_project, tmp_path):
    marker = tmp_path / "imported.marker"
    make_project({
        "evil/__init__.py": f"open({str(marker)!r}, 'w').write('x')\nimport sys\nsys.exit(3)\n",
        "evil/sql.py": f"open({str(marker)!r}, 'w').write('x')\nQ = 'INSERT INTO t VALUES (1)'\n",
        "app.py": "from evil.sql import Q\nimport evil\ncur.execute(Q)\n",
    })
    result = scan(tmp_path)
    assert sqls(result) == ["INSERT INTO t VALUES (1)"]
    assert not marker.exists()


def test_python_dash_m_does_not_import_the_project_it_runs_in(make_project, tmp_path):
    """`python -m auditor check .` from the project's root: a package of theirs named like one
    of our dependencies is not imported in place of it."""
    marker = tmp_path / "imported.marker"
    shadow = f"open({str(marker)!r}, 'w').write('x')\n"
    project = make_project({
        "sqlglot/__init__.py": shadow, "jinja2/__init__.py": shadow, "pathspec/__init__.py": shadow,
        "app.py": "cur.execute('INSERT INTO t (a) VALUES (1)')\n",
    })
    run = subprocess.run([sys.executable, "-m", "auditor", "check", ".", "--no-cache", "--format", "json"],
                         cwd=project, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(Path(auditor.__file__).parents[1])})
    assert not marker.exists()
    assert json.loads(run.stdout)["summary"]["write_sites"] == 1, run.stderr


def test_the_example_project(make_project, tmp_path):
    calls = [c for c in scan(EXAMPLE).calls if c.location.path.startswith("avatar_app/")]  # not its tests
    assert len(calls) == 6  # five writes and one SELECT; the log line is not a call
    first = calls[0]
    assert first.location.path == "avatar_app/storage.py" and first.origin.path == "avatar_app/queries.py"
    assert first.sql.startswith("INSERT INTO avatar_configurations (user_id, persona, settings, updated_at)")


def test_prefilter_needs_call_syntax_not_just_the_name(make_project, tmp_path):
    result = scan(make_project({
        "a.py": "qs.prefetch_related('x')\nexecutor = None\nrows = cur.fetchall()\n",
        "b.py": "cur.execute ('DELETE FROM t')\n",
        "c.py": "execute_values(cur, 'INSERT INTO t VALUES %s', rows)\n",
        "d.py": "conn.exec_driver_sql('UPDATE t SET a = 1')\n",
        "e.py": "later = pool.executemany_later\nrows = run.fetcher(q)\n",
    }))
    assert (result.files_seen, result.files_parsed) == (5, 3)
    assert sorted(sqls(result)) == ["DELETE FROM t", "INSERT INTO t VALUES %s", "UPDATE t SET a = 1"]


def test_prefilter_parses_an_orm_insert_only_where_a_guard_can_precede_it(make_project):
    """Half an idiom is no idiom: a file that only creates rows, or bulk-inserts without a
    conflict clause, has nothing the audit reads, and is not parsed (saleor: 196 of 745 files),
    unless a module-level function of it inserts: another module's lookup may precede it
    (a data layer's `create_order`, read in the second pass; 5 more files of saleor)."""
    result = scan(make_project({
        "only_creates.py": "class T:\n    def test_x(self):\n        Order.objects.create(number=1)\n        o = Order(n=2)\n        o.save()\n",
        "data_layer.py": "def create_order(n):\n    return Order.objects.create(n=n)\n",
        "plain_bulk.py": "Order.objects.bulk_create(orders)\n",
        "guarded.py": "def f(n):\n    if not Order.objects.filter(n=n).exists():\n        Order.objects.create(n=n)\n",
        "caught.py": "def f(n):\n    try:\n        return Order.objects.get(n=n)\n    except Order.DoesNotExist:\n        return Order.objects.create(n=n)\n",
        "upsert_bulk.py": "Order.objects.bulk_create(orders, ignore_conflicts=True)\n",
        "single.py": "def f():\n    Order.objects.get_or_create(n=1)\n",
    }))
    assert (result.files_seen, result.files_parsed) == (7, 5)
    assert sorted(i.location.path for i in result.idioms) == ["caught.py", "guarded.py", "single.py"]
    assert [c.location.path for c in result.calls] == ["upsert_bulk.py"]


def test_prefilter_guard_names_are_the_operations_that_read_update_or_delete():
    from auditor.python import operations
    from auditor.python.files import GUARD_NAMES

    guards = operations.DJANGO_READS | operations.SQLALCHEMY_READS | operations.SESSION_READS
    guards |= {"update", "aupdate", "delete", "adelete", "get_or_none"}
    assert set(GUARD_NAMES) == guards


def test_process_pool_gives_the_same_result_as_one_process(make_project):
    files = {"shared.py": "T = 'events'\n"}
    files.update({f"mod{i:03}.py": f"from shared import T\ncur.execute(f'INSERT INTO {{T}} (n) VALUES ({i})')\ncur.execute(q{i})\n" for i in range(210)})
    root = make_project(files)
    one = scan_python_files(root, python_files(root), jobs=1)
    two = scan_python_files(root, python_files(root), jobs=2)
    assert two.calls == one.calls and len(one.calls) == 420
    assert two.calls[0].sql == "INSERT INTO events (n) VALUES (0)"
    assert two.files_parsed == one.files_parsed == 210


def test_calls_that_are_not_sql_are_not_write_sites_and_a_method_execute_batch_takes_sql_first(make_project):
    result = scan(make_project({"app.py": '''
        import psycopg2
        from psycopg2 import extras
        import psycopg2.extras as pg_extras

        def work(redis, api, txn, cur, rows):
            redis.pipeline().execute([("SET", "k", 1)])
            api.fetch(101)
            api.fetchrow(None)
            txn.execute_batch("INSERT INTO t (a) VALUES (%s)", rows)
            extras.execute_batch(cur, "INSERT INTO u (a) VALUES (%s)", rows)
            pg_extras.execute_values(cur, "INSERT INTO v (a) VALUES %s", rows)
            cur.execute(b"INSERT INTO w (a) VALUES (1)")
    '''}))
    assert [(c.location.line, c.sql) for c in result.calls] == [
        (10, "INSERT INTO t (a) VALUES (%s)"),
        (11, "INSERT INTO u (a) VALUES (%s)"),
        (12, "INSERT INTO v (a) VALUES %s"),
        (13, "INSERT INTO w (a) VALUES (1)"),
    ]


def test_whitespace_and_bind_options_keep_the_statement(make_project):
    result = scan(make_project({"app.py": '''
        import textwrap
        from sqlalchemy import text, bindparam

        def save(conn, v):
            conn.execute(text("INSERT INTO t (a) VALUES (:a)").bindparams(bindparam("a")), {"a": v})
            conn.execute(text(textwrap.dedent("""
                INSERT INTO t (a) VALUES (:a)
            """)), {"a": v})
            conn.execute("  INSERT INTO t (a) VALUES (1)  ".strip())
    '''}))
    assert [c.sql.strip() for c in result.calls] == ["INSERT INTO t (a) VALUES (:a)"] * 2 + ["INSERT INTO t (a) VALUES (1)"]


def test_encode_databases_calls_are_write_sites_only_when_their_argument_is_sql(make_project):
    result = scan(make_project({"app.py": '''
        from databases import Database

        async def save(database, favourites, user_id, name):
            await database.execute("INSERT INTO t (a) VALUES (:a)", {"a": 1})
            await database.execute_many(query="INSERT INTO t (a) VALUES (:a)", values=[{"a": 1}])
            await database.fetch_one("SELECT 1 FROM users WHERE name = :name", {"name": name})
            await favourites.fetch_one(user_id, 7)   # a repository of the project's: not SQL
            await favourites.fetch_all(user_id)
    '''}))
    assert [(c.location.line, c.api) for c in result.calls] == [(5, "execute"), (6, "execute_many"), (7, "fetch_one")]
