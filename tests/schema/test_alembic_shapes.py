"""Alembic revisions in the shapes real projects write (issue 16): `op.f()` names and
`sa.text` server defaults inside `op.create_table`, branches on the dialect, idempotency
guards, loops over literal tuples, data-migration loops. What the reader builds must equal
what `alembic upgrade heads` built on the live database."""

from __future__ import annotations

import ast
import textwrap

import pytest

from auditor.schema.alembic_flow import Scope, dialect_test
from auditor.schema.alembic_migrations import read_alembic_migrations
from auditor.schema.compare import comparable, foreign_key_set
from auditor.schema.source import catalog_from_source

from framework_oracle import live_comparable, live_foreign_keys, run_module, sqlalchemy_url

REVISION = '''
from alembic import op
import sqlalchemy as sa

revision = {revision!r}
down_revision = {down!r}


def upgrade():
{body}
'''

# The models' MetaData, which env.py hands Alembic: its convention names what create_unique_constraint
# leaves to it, except a name wrapped in op.f(), which is final.
MODELS = '''
import sqlalchemy as sa

metadata = sa.MetaData(naming_convention={"uq": "uq_%(table_name)s_%(constraint_name)s"})
'''

ENV = '''
import os, sys
sys.path.insert(0, os.path.dirname(__file__))
from alembic import context
from sqlalchemy import create_engine
from models import metadata
with create_engine(os.environ["DATABASE_URL"]).connect() as connection:
    context.configure(connection=connection, target_metadata=metadata)
    with context.begin_transaction():
        context.run_migrations()
'''

CREATE_WITH_OP_F = '''
    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(200), nullable=False),
        sa.Column("created", sa.DateTime(), server_default=sa.text("CURRENT_TIMESTAMP"), nullable=False),
        sa.Column("kind", sa.String(20), server_default="user", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint("email", name=op.f("accounts_email_exact")),
    )
    op.create_index(op.f("ix_accounts_kind_email"), "accounts", ["kind", "email"], unique=True)
    with op.batch_alter_table("accounts") as batch_op:
        batch_op.create_unique_constraint("code", ["kind", "id"])  # the convention's: uq_accounts_code
        batch_op.create_unique_constraint(batch_op.f("accounts_id_email"), ["id", "email"])
'''

BRANCHES = '''
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.create_index("accounts_lower_email", "accounts", [sa.text("lower(email)")], unique=True)
    else:
        op.create_index("accounts_email_kind", "accounts", ["email", "kind"], unique=True)
    url = str(bind.engine.url)
    if url.startswith("sqlite") is False:
        op.create_unique_constraint(op.f("accounts_kind_created"), "accounts", ["kind", "created"])
    for prefix in ("", "shadow_"):
        op.create_table(
            f"{prefix}events", sa.Column("id", sa.Integer(), primary_key=True), sa.Column("code", sa.String(20)),
            sa.UniqueConstraint("code", name=op.f(f"{prefix}events_code")),
        )
    columns = [c["name"] for c in sa.inspect(bind).get_columns("accounts")]
    if "nickname" not in columns:
        op.add_column("accounts", sa.Column("nickname", sa.String(40)))
    for row in bind.execute(sa.text("SELECT id FROM accounts")):
        bind.execute(sa.text("UPDATE accounts SET kind = 'x' WHERE id = :id"), {"id": row.id})
    accounts = sa.table("accounts", sa.column("kind"))
    op.execute(accounts.update().values(kind="user"))
    try:
        op.create_table("extras", sa.Column("id", sa.Integer(), primary_key=True), sa.Column("tag", sa.String(20)), sa.UniqueConstraint("tag", name="tag"))
    except Exception:
        pass
'''

# nova's loop with its own assignment, quay's keyword-only Column, mealie's data statement chosen in branches
LOOPS_AND_KEYWORDS = '''
    for prefix in ("", "shadow_"):
        table_name = prefix + "events"
        with op.batch_alter_table(table_name, schema=None) as batch_op:
            batch_op.add_column(sa.Column(name="slug", type_=sa.String(40), nullable=True))
            batch_op.create_unique_constraint(op.f(f"{table_name}_slug"), ["slug"])
            if not prefix:  # known in each iteration
                batch_op.create_index("events_slug_id", ["slug", "id"], unique=True)
    if op.get_bind().dialect.name == "postgresql":
        stmt = "UPDATE accounts SET kind = 'a'"
    else:
        stmt = "UPDATE accounts SET kind = 'b'"
    op.get_bind().execute(sa.text(stmt))
'''


def _project(tmp_path, revisions: dict) -> list:
    folder = tmp_path / "versions"
    folder.mkdir()
    for name, (revision, down, body) in revisions.items():
        (folder / f"{name}.py").write_text(REVISION.format(revision=revision, down=down, body=body))
    (tmp_path / "alembic.ini").write_text("[alembic]\nscript_location = .\n")
    (tmp_path / "env.py").write_text(ENV)
    (tmp_path / "models.py").write_text(MODELS)
    (tmp_path / "script.py.mako").write_text("")
    return sorted(folder.glob("*.py")) + [tmp_path / "models.py"]


def _live_url(dialect, request, tmp_path) -> tuple[str | None, str]:
    """(the URL live_comparable takes, the SQLAlchemy URL Alembic takes)."""
    if dialect == "mysql":
        url = request.getfixturevalue("mariadb_url")
        return url, url.replace("mysql://", "mysql+pymysql://", 1)
    pg = request.getfixturevalue("pg_database") if dialect == "postgres" else None
    return pg, sqlalchemy_url(dialect, pg, tmp_path / "live.sqlite")


@pytest.mark.parametrize("dialect", ["postgres", "sqlite", "mysql"])
def test_op_f_names_and_branches_equal_alembic_upgrade(dialect, request, tmp_path):
    url, driver_url = _live_url(dialect, request, tmp_path)
    files = _project(tmp_path, {"r1": ("r1", None, CREATE_WITH_OP_F), "r2": ("r2", "r1", BRANCHES), "r3": ("r3", "r2", LOOPS_AND_KEYWORDS)})
    run_module(["alembic", "upgrade", "heads"], tmp_path, env={"DATABASE_URL": driver_url})
    source = read_alembic_migrations(tmp_path, files, dialect)
    assert [d for d in source.diagnostics if d.kind != "schema-assumption"] == []
    assumptions = sorted((d.line, d.message.split(" ")[0]) for d in source.diagnostics)
    assert assumptions == [(25, "`if"), (31, "a")]  # the `"nickname" not in columns` guard, the try block
    static = catalog_from_source(source, dialect)
    assert comparable(static) == live_comparable(dialect, url, tmp_path / "live.sqlite")
    assert foreign_key_set(static) == live_foreign_keys(dialect, url, tmp_path / "live.sqlite")
    if dialect == "postgres":  # the names op.f() gave, kept as written though the convention has %(constraint_name)s
        names = {k.name for t in static.tables.values() for k in t.keys}
        assert {"pk_accounts", "accounts_email_exact", "accounts_id_email", "uq_accounts_code", "accounts_kind_created", "shadow_events_code", "uq_extras_tag", "shadow_events_slug", "events_slug_id"} <= names


def test_schema_operations_in_a_data_loop_are_reported(tmp_path):
    files = _project(tmp_path, {"r1": ("r1", None, '''
    op.create_table("a", sa.Column("id", sa.Integer(), primary_key=True))
    bind = op.get_bind()
    for row in bind.execute(sa.text("SELECT name FROM legacy")):
        op.drop_table(row.name)
    if bind.execute(sa.text("SELECT count(*) FROM a")).scalar():
        op.create_unique_constraint("a_id", "a", ["id"])
    while bind.execute(sa.text("SELECT 1")).scalar():
        bind.execute(sa.text("DELETE FROM a WHERE id IN (SELECT id FROM a LIMIT 10)"))
''')})
    source = read_alembic_migrations(tmp_path, files, "postgres")
    assert [(d.line, d.kind, d.message) for d in source.diagnostics] == [
        (13, "schema-source-error", "drop_table inside a loop that depends on run-time data: not read"),
        (15, "schema-source-error", "create_unique_constraint inside a condition that depends on run-time data: not read"),
    ]  # the while loop deletes rows only: data, skipped silently
    assert [str(n) for n in catalog_from_source(source, "postgres").tables] == ["public.a"]


@pytest.mark.parametrize("condition, dialect, expected", [
    ('bind.engine.name == "mysql"', "mysql", True),
    ('bind.engine.name == "mysql"', "postgres", False),
    ('op.get_context().dialect.name != "sqlite"', "sqlite", False),
    ('op.get_bind().dialect.name in ("postgresql", "sqlite")', "sqlite", True),
    ('str(bind.engine.url).startswith("postgres")', "postgres", True),
    ('not is_postgres()', "postgres", False),
    ('is_sqlite() or bind.dialect.name == "mysql"', "postgres", False),
    ('bind.dialect.name == "mariadb"', "mysql", None),  # a MySQL-family server may be either
    ('"col" not in columns', "postgres", None),
    ('get_db_type() == "postgresql"', "postgres", None),
])
def test_dialect_tests(condition, dialect, expected):
    scope = Scope({}, {"bind": ast.parse("op.get_bind()", mode="eval").body})
    assert dialect_test(ast.parse(condition, mode="eval").body, scope, dialect) is expected


SEEDED = '''
    op.create_table(
        "plans",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(20), nullable=False),
        sa.UniqueConstraint("code", name=op.f("plans_code_key")),
    )
    op.execute("INSERT INTO plans (id, code) VALUES (1, 'free') ON CONFLICT (code) DO NOTHING")
'''
REPLACED = '''
    op.drop_table("plans")
'''


@pytest.mark.parametrize("dialect", ["postgres", "sqlite"])
def test_a_write_in_a_revision_is_checked_against_the_schema_of_that_revision(dialect, request, tmp_path, capsys):
    """The upsert in r1 runs when plans has its unique code (alembic upgrade runs it for real);
    r2 drops the table. Checked against r1's schema: no unknown table, no finding."""
    from auditor.cli import main

    url, driver_url = _live_url(dialect, request, tmp_path)
    _project(tmp_path, {"r1": ("r1", None, SEEDED), "r2": ("r2", "r1", REPLACED)})
    run_module(["alembic", "upgrade", "heads"], tmp_path, env={"DATABASE_URL": driver_url})
    main(["check", str(tmp_path), "--format", "json", "--no-cache", "--dialect", dialect])
    doc = __import__("json").loads(capsys.readouterr().out)
    [site] = [s for s in doc["sites"] if s["path"] == "versions/r1.py"]
    assert (site["status"], site["table"]) == ("checked", "plans")
    assert [f for f in doc["findings"] if f["path"] == "versions/r1.py"] == []


def test_a_failing_upsert_in_a_revision_stays_a_warning(tmp_path, capsys):
    """Only races are quiet in a migration (it runs alone); an ON CONFLICT with no matching
    key fails the migration itself, and is reported as everywhere."""
    from auditor.cli import main

    seeded = SEEDED.replace("ON CONFLICT (code)", "ON CONFLICT (id, code)")
    _project(tmp_path, {"r1": ("r1", None, seeded), "r2": ("r2", "r1", REPLACED)})
    main(["check", str(tmp_path), "--format", "json", "--no-cache", "--dialect", "postgres"])
    doc = __import__("json").loads(capsys.readouterr().out)
    assert [(f["rule"], f["severity"]) for f in doc["findings"] if f["path"] == "versions/r1.py"] == [("UPS001", "error")]


def test_a_table_the_history_never_made_is_there_at_every_revision(tmp_path, capsys):
    """redash creates its tables with create_all from the models and only alters them in
    revisions: a write in a revision to such a table is checked against the model's table
    (it was an unknown table once writes in revisions were checked at their own revision)."""
    from auditor.cli import main

    _project(tmp_path, {"r1": ("r1", None, "    op.execute(\"INSERT INTO plans (id, code) VALUES (1, 'free') ON CONFLICT (code) DO NOTHING\")\n")})
    (tmp_path / "models.py").write_text(MODELS + (
        "\nplans = sa.Table('plans', metadata, sa.Column('id', sa.Integer, primary_key=True),"
        " sa.Column('code', sa.String(20), nullable=False), sa.UniqueConstraint('code', name='plans_code_key'))\n"
    ))
    main(["check", str(tmp_path), "--format", "json", "--no-cache", "--dialect", "postgres"])
    doc = __import__("json").loads(capsys.readouterr().out)
    [site] = [s for s in doc["sites"] if s["path"] == "versions/r1.py"]
    assert (site["status"], site["table"]) == ("checked", "plans")
    assert [f for f in doc["findings"] if f["path"] == "versions/r1.py"] == []
