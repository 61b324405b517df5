"""SQLAlchemy models and Alembic revisions, read statically, must equal what the real
database has after `metadata.create_all` / `alembic upgrade heads` built it."""

from __future__ import annotations

import textwrap

import pytest

from auditor.config import load_config
from auditor.engine import run_audit
from auditor.schema.alembic_migrations import read_alembic_migrations
from auditor.schema.compare import comparable, foreign_key_set
from auditor.schema.source import catalog_from_source
from auditor.schema.sqlalchemy_models import read_sqlalchemy_models

from framework_oracle import copy_example, live_catalog, live_comparable, live_foreign_keys, run_module, run_python, sqlalchemy_url

DIALECTS = ["postgres", "sqlite"]

RICH_MODELS = '''
from datetime import datetime
from typing import Optional

import sqlalchemy as sa
from sqlalchemy import Column, ForeignKey, ForeignKeyConstraint, Index, Integer, MetaData, String, Table, UniqueConstraint, func, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

convention = {
    "uq": "uq_%(table_name)s_%(column_0_N_name)s", "pk": "pk_%(table_name)s", "ix": "ix_%(column_0_label)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",  # names the catalog does not keep
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=convention)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[Optional[datetime]]


class User(TimestampMixin, Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(200), unique=True)
    handle: Mapped[str | None] = mapped_column(String(40), unique=True, index=True)
    tenant_id: Mapped[int]
    deleted_at: Mapped[Optional[datetime]]
    __table_args__ = (
        UniqueConstraint("tenant_id", "handle"),
        Index("users_live_email", func.lower(text("email")), unique=True, postgresql_where=text("deleted_at IS NULL")),
        Index("users_plain", "tenant_id"),
    )


class AvatarConfig(Base):
    __tablename__ = "avatar_configurations"
    id = Column(Integer, primary_key=True)
    user_id = Column(ForeignKey("users.id"), nullable=False)
    persona = Column(String(40))


class Pref(Base):
    __tablename__ = "prefs"
    __table_args__ = {"schema": None}
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[Optional[str]]


tags = Table(
    "tags", Base.metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(50), nullable=False),
    Column("slug", String(50)),
    UniqueConstraint("name", name="tags_name_uq"),
    sa.Index("tags_slug", "slug", unique=True, sqlite_where=text("slug IS NOT NULL")),
)


class Team(Base):
    __tablename__ = "teams"
    key: Mapped[int] = mapped_column("team_id", primary_key=True)


class OwnedMixin:
    owner_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class Membership(OwnedMixin, Base):
    __tablename__ = "memberships"
    id: Mapped[int] = mapped_column(primary_key=True)
    member: Mapped[int] = mapped_column("member_id", ForeignKey(User.id))
    team: Mapped[int] = mapped_column(ForeignKey(Team.key))  # references teams.team_id
    email: Mapped[Optional[str]] = mapped_column(String(200), ForeignKey("users.email"))  # a unique, not the primary key
    tenant_id: Mapped[Optional[int]]
    handle: Mapped[Optional[str]] = mapped_column(String(40))
    tag_id = Column(Integer, ForeignKey(tags.c.id))
    parent_id = Column(ForeignKey("memberships.id"))
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "handle"], ["users.tenant_id", "users.handle"]),  # composite, to a unique
        UniqueConstraint("id", "email"),
    )


tag_links = Table(
    "tag_links", Base.metadata,
    Column("tag_id", ForeignKey("tags.id"), primary_key=True),
    Column("user_id", Integer, ForeignKey(User.id), primary_key=True),
    Column("tag_name", String(50)),
    Column("member_id", Integer),
    Column("member_email", String(200)),
    sa.ForeignKeyConstraint(["tag_name"], [tags.c.name]),
    ForeignKeyConstraint(["member_id", "member_email"], ["memberships.id", "memberships.email"], name="tag_links_member"),
)

Index("avatar_user", AvatarConfig.user_id, unique=True)
'''

CREATE_ALL = "import sys; sys.path.insert(0, '.'); import sqlalchemy; from {module} import Base; Base.metadata.create_all(sqlalchemy.create_engine({url!r}))"


def _database(dialect, request, tmp_path):
    pg = request.getfixturevalue("pg_database") if dialect == "postgres" else None
    return pg, tmp_path / "live.sqlite"


@pytest.mark.parametrize("dialect", DIALECTS)
def test_models_equal_create_all(dialect, request, tmp_path):
    pg, sqlite_path = _database(dialect, request, tmp_path)
    (tmp_path / "models.py").write_text(textwrap.dedent(RICH_MODELS))
    run_python(CREATE_ALL.format(module="models", url=sqlalchemy_url(dialect, pg, sqlite_path)), tmp_path)
    source = read_sqlalchemy_models(tmp_path, [tmp_path / "models.py"], dialect)
    assert source.diagnostics == []
    static = catalog_from_source(source, dialect)
    assert static.diagnostics == []
    assert comparable(static) == live_comparable(dialect, pg, sqlite_path)
    assert foreign_key_set(static) == live_foreign_keys(dialect, pg, sqlite_path)


def test_deferrable_and_nulls_not_distinct_on_postgres(request, tmp_path):
    pg = request.getfixturevalue("pg_database")
    (tmp_path / "models.py").write_text(textwrap.dedent('''
        from sqlalchemy import Column, Integer, MetaData, String, Table, UniqueConstraint
        from sqlalchemy.orm import DeclarativeBase

        class Base(DeclarativeBase):
            pass

        codes = Table(
            "codes", Base.metadata,
            Column("id", Integer, primary_key=True),
            Column("code", String(20)),
            Column("region", String(5)),
            UniqueConstraint("code", name="codes_code_key", deferrable=True, initially="DEFERRED"),
            UniqueConstraint("region", "code", postgresql_nulls_not_distinct=True),
        )
    '''))
    run_python(CREATE_ALL.format(module="models", url=sqlalchemy_url("postgres", pg, None)), tmp_path)
    static = catalog_from_source(read_sqlalchemy_models(tmp_path, [tmp_path / "models.py"], "postgres"), "postgres")
    assert comparable(static) == live_comparable("postgres", pg, None)
    assert foreign_key_set(static) == live_foreign_keys("postgres", pg, None)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_example_models_equal_create_all(dialect, request, tmp_path):
    pg, sqlite_path = _database(dialect, request, tmp_path)
    project = copy_example("sqlalchemy_app", tmp_path)
    run_python(CREATE_ALL.format(module="app.models", url=sqlalchemy_url(dialect, pg, sqlite_path)), project)
    static = catalog_from_source(read_sqlalchemy_models(project, sorted(project.rglob("*.py")), dialect), dialect)
    assert comparable(static) == live_comparable(dialect, pg, sqlite_path)
    assert foreign_key_set(static) == live_foreign_keys(dialect, pg, sqlite_path)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_example_migrations_equal_alembic_upgrade(dialect, request, tmp_path):
    """Five revisions: a branch and a merge, batch blocks, a rename, a partial expression index."""
    pg, sqlite_path = _database(dialect, request, tmp_path)
    project = copy_example("sqlalchemy_app", tmp_path)
    run_module(["alembic", "upgrade", "heads"], project, env={"DATABASE_URL": sqlalchemy_url(dialect, pg, sqlite_path)})
    source = read_alembic_migrations(project, sorted(project.rglob("*.py")), dialect)
    assert [f.split("/")[-1] for f in source.files] == [
        "a1_create_users.py", "b2_user_handles.py", "c3_create_tags.py", "d4_merge_tags_and_handles.py", "e5_create_prefs.py",
    ]
    static = catalog_from_source(source, dialect)
    assert comparable(static) == live_comparable(dialect, pg, sqlite_path)
    assert foreign_key_set(static) == live_foreign_keys(dialect, pg, sqlite_path)
    hazards = [d for d in source.diagnostics if d.kind == "migration-hazard"]
    if dialect == "sqlite":  # the batch rebuild of users in e5 really loses the expression index
        assert len(hazards) == 1 and "users_live_email" in hazards[0].message
    else:
        assert hazards == [] and source.diagnostics == []


def test_the_example_audit_finds_the_incident_and_the_drift():
    from framework_oracle import EXAMPLES

    result = run_audit(load_config(EXAMPLES / "sqlalchemy_app", cache=False))
    assert result.schema_sources == ["alembic migrations", "sqlalchemy models"]
    # the text() upsert and the insert(...).on_conflict_do_update(...) one
    assert [(f.rule, f.location.path, f.location.line) for f in result.findings] == [("UPS001", "app/storage.py", 19), ("UPS001", "app/storage.py", 25)]
    [drift] = [d for d in result.diagnostics if d.kind == "schema-drift"]
    assert drift.path == "app/models.py" and "(user_id) is only in the sqlalchemy models" in drift.message


REVISION = '''
from alembic import op
import sqlalchemy as sa

revision = {revision!r}
down_revision = {down!r}


def upgrade():
    {body}
'''


def _revisions(tmp_path, revisions: dict) -> list:
    folder = tmp_path / "versions"
    folder.mkdir()
    for name, (revision, down, body) in revisions.items():
        (folder / f"{name}.py").write_text(textwrap.dedent(REVISION).format(revision=revision, down=down, body=body))
    return sorted(folder.glob("*.py"))


def test_a_broken_revision_graph_is_reported_and_the_rest_is_read(tmp_path):
    files = _revisions(tmp_path, {
        "r1": ("r1", None, 'op.create_table("a", sa.Column("id", sa.Integer(), primary_key=True))'),
        "r2": ("r2", "missing", 'op.create_table("b", sa.Column("id", sa.Integer(), primary_key=True))'),
        "r3": ("r3", "r4", "pass"),
        "r4": ("r4", "r3", "pass"),
        "r5": ("r5", "r1", 'op.create_unique_constraint(None, "a", COLUMNS)'),
    })
    source = read_alembic_migrations(tmp_path, files, "postgres")
    messages = [(d.path.split("/")[-1], d.kind, d.message) for d in source.diagnostics]
    assert ("r2.py", "migration-graph", "revision r2: parent missing not found; applied as if it were a root") in messages
    assert any(kind == "migration-graph" and "cycle" in m and "r3.py" in m and "r4.py" in m for _, kind, m in messages)
    assert any(kind == "migration-graph" and "heads" in m for _, kind, m in messages)
    assert any(path == "r5.py" and "not read" in m for path, _, m in messages)
    catalog = catalog_from_source(source, "postgres")
    assert sorted(n.name for n in catalog.tables) == ["a", "b"]


MYSQL_MODELS = '''
from typing import Optional

from sqlalchemy import Column, ForeignKey, ForeignKeyConstraint, Integer, MetaData, String, Table, UniqueConstraint, Index
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention={"uq": "uq_%(table_name)s_%(column_0_N_name)s", "ix": "ix_%(column_0_label)s"})


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(200), unique=True)
    handle: Mapped[Optional[str]] = mapped_column(String(40), unique=True, index=True)
    tenant_id: Mapped[int]
    __table_args__ = (UniqueConstraint("tenant_id", "handle"), Index("users_tenant_email", "tenant_id", "email", unique=True))


prefs = Table(
    "prefs", Base.metadata,
    Column("user_id", Integer, ForeignKey("users.id"), primary_key=True),
    Column("key", String(40), primary_key=True),
    Column("value", String(200)),
)


class Membership(Base):
    __tablename__ = "memberships"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey(User.id))
    email: Mapped[str] = mapped_column(String(200), ForeignKey("users.email"))
    tenant_id: Mapped[int]
    handle: Mapped[Optional[str]] = mapped_column(String(40))
    pref_key: Mapped[Optional[str]] = mapped_column(String(40))
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "handle"], [User.tenant_id, User.handle]),
        ForeignKeyConstraint(["user_id", "pref_key"], [prefs.c.user_id, prefs.c.key]),
    )
'''


def test_models_equal_create_all_on_mariadb(request, tmp_path):
    url = request.getfixturevalue("mariadb_url")
    (tmp_path / "models.py").write_text(textwrap.dedent(MYSQL_MODELS))
    run_python(CREATE_ALL.format(module="models", url=url.replace("mysql://", "mysql+pymysql://", 1)), tmp_path)
    source = read_sqlalchemy_models(tmp_path, [tmp_path / "models.py"], "mysql")
    static = catalog_from_source(source, "mysql")
    assert source.diagnostics == [] and static.diagnostics == []
    assert comparable(static) == live_comparable("mysql", url, None)
    assert foreign_key_set(static) == live_foreign_keys("mysql", url, None)


MARIADB_REVISIONS = {
    "m1": ("m1", None, '''op.create_table(
        "users",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("email", sa.String(200), nullable=False, unique=True),
        sa.Column("handle", sa.String(40)),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.UniqueConstraint("tenant_id", "handle", name="users_tenant_handle"),
    )
    op.create_table("tags", sa.Column("id", sa.Integer(), primary_key=True), sa.Column("label", sa.String(50)))
    op.create_table(
        "memberships",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("email", sa.String(200)),
        sa.Column("tag_id", sa.Integer()),
        sa.Column("tag_slug", sa.String(50)),
        sa.ForeignKeyConstraint(["email"], ["users.email"], name="memberships_email_fk"),
    )'''),
    "m2": ("m2", "m1", '''op.create_unique_constraint("tags_label", "tags", ["label"])
    op.create_index("users_handle", "users", ["handle"], unique=True)
    op.add_column("tags", sa.Column("slug", sa.String(50), unique=True))
    op.create_foreign_key("memberships_tag_fk", "memberships", "tags", ["tag_id"], ["id"])
    op.create_foreign_key(constraint_name="memberships_slug_fk", source_table="memberships", referent_table="tags",
                          local_cols=["tag_slug"], remote_cols=["slug"])
    op.add_column("memberships", sa.Column("tag_label", sa.String(50), sa.ForeignKey("tags.label")))'''),
    "m3": ("m3", "m2", '''op.drop_constraint("users_tenant_handle", "users", type_="unique")
    op.drop_index("users_handle", table_name="users")
    op.rename_table("tags", "labels")
    op.alter_column("users", "handle", nullable=False, existing_type=sa.String(40))'''),
}


def _alembic_project(tmp_path, revisions: dict) -> list:
    """The revisions, with what `alembic upgrade` needs to run them on $DATABASE_URL."""
    files = _revisions(tmp_path, revisions)
    (tmp_path / "alembic.ini").write_text("[alembic]\nscript_location = .\n")
    (tmp_path / "env.py").write_text(textwrap.dedent('''
        import os
        from alembic import context
        from sqlalchemy import create_engine
        with create_engine(os.environ["DATABASE_URL"]).connect() as connection:
            context.configure(connection=connection)
            with context.begin_transaction():
                context.run_migrations()
    '''))
    (tmp_path / "script.py.mako").write_text("")
    return files


def test_alembic_upgrade_on_mariadb(request, tmp_path):
    url = request.getfixturevalue("mariadb_url")
    files = _alembic_project(tmp_path, MARIADB_REVISIONS)
    run_module(["alembic", "upgrade", "heads"], tmp_path, env={"DATABASE_URL": url.replace("mysql://", "mysql+pymysql://", 1)})
    source = read_alembic_migrations(tmp_path, files, "mysql")
    static = catalog_from_source(source, "mysql")
    assert source.diagnostics == [] and static.diagnostics == []
    assert comparable(static) == live_comparable("mysql", url, None)
    assert foreign_key_set(static) == live_foreign_keys("mysql", url, None)


FOREIGN_KEY_REVISIONS = {
    "f1": ("f1", None, '''op.create_table(
        "users",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("email", sa.String(200), nullable=False, unique=True),
        sa.Column("tenant_id", sa.Integer()),
        sa.Column("handle", sa.String(40)),
        sa.UniqueConstraint("tenant_id", "handle", name="users_tenant_handle"),
    )
    op.create_table("tags", sa.Column("id", sa.Integer(), primary_key=True), sa.Column("slug", sa.String(50), unique=True))
    op.create_table(
        "memberships",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("tenant_id", sa.Integer()),
        sa.Column("handle", sa.String(40)),
        sa.Column("tag_id", sa.Integer()),
        sa.ForeignKeyConstraint(["tenant_id", "handle"], ["users.tenant_id", "users.handle"]),
    )'''),
    "f2": ("f2", "f1", '''with op.batch_alter_table("memberships") as batch_op:
        batch_op.create_foreign_key("memberships_tag_fk", "tags", ["tag_id"], ["id"])
        batch_op.alter_column("user_id", new_column_name="account_id")
    op.create_index("memberships_lower_handle", "memberships", [sa.text("lower(handle)")], unique=True)
    with op.batch_alter_table("memberships") as batch_op:  # SQLite: the foreign key rebuilds the table
        batch_op.add_column(sa.Column("email", sa.String(200), sa.ForeignKey("users.email", name="memberships_email_fk")))
    op.rename_table("tags", "labels")'''),
}


@pytest.mark.parametrize("dialect", DIALECTS)
def test_alembic_foreign_keys_equal_upgrade(dialect, request, tmp_path):
    """Foreign keys of create_table, add_column and create_foreign_key (in batch blocks: SQLite has
    no other way), through a renamed column and a renamed referenced table."""
    pg, sqlite_path = _database(dialect, request, tmp_path)
    files = _alembic_project(tmp_path, FOREIGN_KEY_REVISIONS)
    run_module(["alembic", "upgrade", "heads"], tmp_path, env={"DATABASE_URL": sqlalchemy_url(dialect, pg, sqlite_path)})
    source = read_alembic_migrations(tmp_path, files, dialect)
    static = catalog_from_source(source, dialect)
    assert comparable(static) == live_comparable(dialect, pg, sqlite_path)
    assert foreign_key_set(static) == live_foreign_keys(dialect, pg, sqlite_path)
    hazards = [d.message for d in source.diagnostics if d.kind == "migration-hazard"]
    if dialect == "sqlite":  # adding a column with a foreign key rebuilt memberships, without its expression index
        assert len(hazards) == 1 and "memberships_lower_handle" in hazards[0]
        assert len(source.diagnostics) == 1 and static.diagnostics == source.diagnostics
    else:
        assert source.diagnostics == [] and static.diagnostics == []


def test_foreign_keys_that_cannot_be_read_leave_the_table_whole(tmp_path):
    (tmp_path / "models.py").write_text(textwrap.dedent('''
        from sqlalchemy import ForeignKey, ForeignKeyConstraint, String
        from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
        from elsewhere import Account, PREFIX

        class Base(DeclarativeBase):
            pass

        class User(Base):
            __tablename__ = "users"
            id: Mapped[int] = mapped_column(primary_key=True)

        class Post(Base):
            __tablename__ = "posts"
            id: Mapped[int] = mapped_column(ForeignKey(f"{PREFIX}.id"), primary_key=True)
            account_id: Mapped[int] = mapped_column(ForeignKey(Account.id), unique=True)
            author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
            slug: Mapped[str] = mapped_column(String(50))
            __table_args__ = (ForeignKeyConstraint(["slug"], [Account.slug]), ForeignKeyConstraint(["id"], ["users"]))
    '''))
    source = read_sqlalchemy_models(tmp_path, [tmp_path / "models.py"], "postgres")
    static = catalog_from_source(source, "postgres")
    # unreadable targets are reported; Account, defined in code that is not read, is left out silently
    assert sorted((d.line, d.message) for d in source.diagnostics) == [
        (13, "table posts: foreign key (id) not read (foreign key target 'users')"),
        (13, "table posts: foreign key (id) not read (not a literal: f'{PREFIX}.id')"),
    ]
    assert comparable(static)["public.posts"] == {
        "columns": {"id": False, "account_id": False, "author_id": False, "slug": False},
        "keys": [("primary key", "posts_pkey", ("id",), (), "", False, False, False),
                 ("unique constraint", "posts_account_id_key", ("account_id",), (), "", False, False, False)],
    }
    assert foreign_key_set(static) == {("public.posts", ("author_id",), "public.users", ("id",))}


def _foreign_key_drops(default_name: str) -> dict:
    """Named foreign keys (by the code, by create_foreign_key) and one the database names,
    each then dropped by name; one named foreign key stays."""
    return {"r1": ("r1", None, f'''op.create_table("a", sa.Column("id", sa.Integer(), primary_key=True))
    op.create_table(
        "b",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("a_id", sa.Integer(), sa.ForeignKey("a.id")),
        sa.Column("c_id", sa.Integer(), sa.ForeignKey("a.id", name="b_c_fk")),
        sa.Column("parent", sa.Integer()),
        sa.Column("keep", sa.Integer(), sa.ForeignKey("a.id", name="b_keep_fk")),
    )
    op.create_foreign_key("b_parent_fk", "b", "b", ["parent"], ["id"])
    op.drop_constraint("{default_name}", "b", type_="foreignkey")
    op.drop_constraint("b_c_fk", "b", type_="foreignkey")
    op.drop_constraint("b_parent_fk", "b", type_="foreignkey")''')}


@pytest.mark.parametrize("dialect, default_name", [("postgres", "b_a_id_fkey"), ("mysql", "b_ibfk_1")])
def test_alembic_drops_foreign_keys_by_name(dialect, default_name, request, tmp_path):
    url = request.getfixturevalue("pg_database" if dialect == "postgres" else "mariadb_url")
    files = _alembic_project(tmp_path, _foreign_key_drops(default_name))
    driver_url = sqlalchemy_url("postgres", url, None) if dialect == "postgres" else url.replace("mysql://", "mysql+pymysql://", 1)
    run_module(["alembic", "upgrade", "heads"], tmp_path, env={"DATABASE_URL": driver_url})
    source = read_alembic_migrations(tmp_path, files, dialect)
    assert source.diagnostics == []
    static = catalog_from_source(source, dialect)
    live = live_catalog(dialect, url, None)
    assert foreign_key_set(static, names=True) == foreign_key_set(live, names=True)
    assert [fk.name for t in static.tables.values() for fk in t.foreign_keys] == ["b_keep_fk"]


FK_CONVENTION_MODELS = '''
from sqlalchemy import ForeignKey, ForeignKeyConstraint, MetaData, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention={"fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s"})


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant: Mapped[int]
    number: Mapped[int]
    __table_args__ = (UniqueConstraint("tenant", "number"),)


class Post(Base):
    __tablename__ = "posts"
    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    editor_id: Mapped[int] = mapped_column(ForeignKey(User.id, name="posts_editor"))
    tenant: Mapped[int]
    number: Mapped[int]
    __table_args__ = (ForeignKeyConstraint(["tenant", "number"], ["users.tenant", "users.number"]),)
'''


def test_foreign_key_names_follow_the_naming_convention(request, tmp_path):
    pg = request.getfixturevalue("pg_database")
    (tmp_path / "models.py").write_text(FK_CONVENTION_MODELS)
    run_python(CREATE_ALL.format(module="models", url=sqlalchemy_url("postgres", pg, None)), tmp_path)
    source = read_sqlalchemy_models(tmp_path, [tmp_path / "models.py"], "postgres")
    assert source.diagnostics == []
    static = catalog_from_source(source, "postgres")
    assert foreign_key_set(static, names=True) == foreign_key_set(live_catalog("postgres", pg, None), names=True)
    assert {fk.name for t in static.tables.values() for fk in t.foreign_keys} == {
        "fk_posts_author_id_users", "posts_editor", "fk_posts_tenant_number_users",
    }


def test_a_dropped_foreign_key_is_reported_on_sqlite(tmp_path):
    files = _revisions(tmp_path, {"r1": ("r1", None, '''op.create_table("a", sa.Column("id", sa.Integer(), primary_key=True))
    op.create_table("b", sa.Column("a_id", sa.Integer(), sa.ForeignKey("a.id", name="b_a_fk")))
    op.drop_constraint("b_a_fk", "b", type_="foreignkey")''')})
    source = read_alembic_migrations(tmp_path, files, "sqlite")
    assert [(d.line, d.message) for d in source.diagnostics] == [
        (12, "drop_constraint b_a_fk: SQLite keeps no constraint names, so the foreign key stays in the catalog"),
    ]


