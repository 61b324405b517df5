"""A file written for a newer Python than the one running is read like any other.

The same module is written twice, once in syntax the running Python reads and once with
newer constructs around the same code: both must give the same write sites, idioms and
schema, at the same lines.
"""

from __future__ import annotations

import ast
import sys
import textwrap

import pytest

from auditor.python import python_files, scan_python_files
from auditor.python.newer_syntax import downgrade
from auditor.python.syntax import parse_module
from auditor.sql.holes import HOLE

pytestmark = pytest.mark.skipif(sys.version_info >= (3, 12), reason="the running Python reads this syntax itself")

WRITES = '''
import sqlite3
from django.db import models

UPSERT = "INSERT INTO t (a) VALUES (?) ON CONFLICT (a) DO NOTHING"

class Tag(models.Model):{params}
    name = models.CharField(max_length=50)

def save(conn, kind, rows):{alias}
    if kind == "a":
        sql = "INSERT INTO t (a) VALUES (1) ON CONFLICT (b) DO NOTHING"
    else:
        sql = UPSERT
    conn.execute(sql)
    try:
        conn.execute(f"INSERT INTO {{'t'}} (a) VALUES (2)")
    except {handler}:
        pass
    if not Tag.objects.filter(name="x").exists():
        Tag.objects.create(name="x")
'''

OLDER = WRITES.format(params="", alias="", handler="(ValueError, KeyError)")
NEWER = WRITES.format(params="", alias="  # noqa", handler="ValueError, KeyError").replace(
    "class Tag(models.Model):", "class Tag[T](models.Model):").replace(
    "def save(conn, kind, rows):", "def save[R](conn, kind, rows: list[R]):").replace(
    "f\"INSERT INTO {'t'} (a) VALUES (2)\"", "f\"INSERT INTO {\"t\"} (a) VALUES (2)\"") + "\ntype Rows = list[int]\n"


def _extract(make_project, source: str):
    root = make_project({"app.py": source})
    result = scan_python_files(root, python_files(root))
    calls = [(c.location.line, c.sql, c.unresolved_reason) for c in result.calls]
    idioms = [(i.location.line, i.kind) for i in result.idioms]
    return calls, idioms, result.diagnostics


def test_newer_syntax_gives_the_same_sites_and_idioms(make_project):
    with pytest.raises(SyntaxError):
        ast.parse(textwrap.dedent(NEWER))  # the running Python cannot read it itself
    older = _extract(make_project, OLDER)
    newer = _extract(make_project, NEWER)
    assert newer[2] == []
    assert newer == older
    assert len(older[0]) == 3 and older[1], "the module has write sites and an idiom to compare"


@pytest.mark.parametrize(("newer", "older"), [
    ("type X[T] = list[T]\n", "X = list[T]\n"),
    ("def f[T: int](x: T) -> T:\n    return x\n", "def f(x: T) -> T:\n    return x\n"),
    ("try:\n    pass\nexcept A, B:\n    pass\n", "try:\n    pass\nexcept (A, B):\n    pass\n"),
    ("q = f\"SELECT {d[\"k\"]}\"\n", "q = f'SELECT {d[\"k\"]}'\n"),
    ("x = cur.execute(" + "(" * 300 + "'SELECT 1'" + ")" * 300 + ")\n", "x = cur.execute(('SELECT 1'))\n"),
])
def test_each_newer_construct_is_written_the_older_way(newer, older):
    assert downgrade(newer) == older
    assert ast.dump(parse_module(newer)) == ast.dump(ast.parse(older))


def test_an_f_string_no_older_quoting_can_express_is_an_unknown_value():
    # every quote is used inside the fields: the value is unknown, never guessed
    source = "q = f\"\"\"a{x['1']}{y[\"2\"]}{z['''3''']}{w[\"\"\"4\"\"\"]}\"\"\"\n"
    tree = parse_module(source)
    assert isinstance(tree.body[0].value, ast.Constant) and tree.body[0].value.value == HOLE


def test_a_file_no_parser_reads_is_still_a_syntax_error():
    with pytest.raises(SyntaxError):
        parse_module("print 'hello'\n")


MODELS = '''
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase

class Base(DeclarativeBase):
    pass

class Account(Base):
    __tablename__ = "account"
    id = sa.Column(sa.Integer, primary_key=True)
    email = sa.Column(sa.String(200), unique=True)
'''


def test_a_schema_module_in_newer_syntax_gives_the_same_keys(tmp_path):
    from auditor.schema.sources import build_catalog

    def keys(source: str, folder: str) -> dict:
        root = tmp_path / folder
        root.mkdir()
        (root / "models.py").write_text(textwrap.dedent(source))
        catalog = build_catalog(root, [root / "models.py"], [], "postgres").catalog
        return {str(name): sorted((k.name, k.origin.line) for k in table.unique_keys) for name, table in catalog.tables.items()}

    newer = MODELS.replace("class Account(Base):", "class Account[T](Base):") + "\ntype Accounts = list[Account]\n"
    older = keys(MODELS, "older")
    assert older == {"public.account": [("account_email_key", 8), ("account_pkey", 8)]}
    assert keys(newer, "newer") == older
