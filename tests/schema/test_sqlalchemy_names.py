"""SQLAlchemy models whose table names come from a base's `@declared_attr __tablename__`
or from module constants (issue 16): read statically, they must equal what
`metadata.create_all` built on the live database."""

from __future__ import annotations

import textwrap

import pytest

from auditor.schema.compare import comparable, foreign_key_set
from auditor.schema.source import catalog_from_source
from auditor.schema.sqlalchemy_models import read_sqlalchemy_models

from framework_oracle import live_comparable, live_foreign_keys, run_python, sqlalchemy_url

FILES = {
    "app/__init__.py": "",
    "app/naming.py": '''
        import re


        def camel_to_snake(name):
            s1 = re.sub("(.)([A-Z][a-z]+)", r"\\1_\\2", name)
            return re.sub("([a-z0-9])([A-Z])", r"\\1_\\2", s1).lower()
    ''',
    "app/base.py": '''
        from sqlalchemy.orm import DeclarativeBase, declared_attr

        from app.naming import camel_to_snake


        class Base(DeclarativeBase):
            @declared_attr.directive
            def __tablename__(cls) -> str:
                return camel_to_snake(cls.__name__)


        class PrefixedBase(DeclarativeBase):
            @declared_attr.directive
            def __tablename__(cls):
                return "app_" + cls.__name__.lower()
    ''',
    "app/constants.py": '''
        SETTINGS_TABLE = "app_settings_v2"
        KEY_COLUMN = "setting_key"
        PREFIX = "audit"
    ''',
    "app/models.py": '''
        from sqlalchemy import Column, ForeignKey, Integer, String, Table, UniqueConstraint
        from sqlalchemy.orm import Mapped, declared_attr, mapped_column

        from app import constants
        from app.base import Base, PrefixedBase
        from app.constants import KEY_COLUMN, SETTINGS_TABLE


        class OwnedMixin:
            @declared_attr
            def owner_id(cls) -> Mapped[int]:
                return mapped_column(ForeignKey("user_account.id"), nullable=False)


        class UserAccount(Base):
            id: Mapped[int] = mapped_column(primary_key=True)
            email: Mapped[str] = mapped_column(String(200), unique=True)


        class HTTPRequestLog(OwnedMixin, Base):
            id: Mapped[int] = mapped_column(primary_key=True)
            path: Mapped[str] = mapped_column(String(200))
            __table_args__ = (UniqueConstraint("owner_id", "path"),)


        class Legacy(Base):
            __tablename__ = "legacy_things"
            id: Mapped[int] = mapped_column(primary_key=True)


        class Flag(PrefixedBase):
            name: Mapped[str] = mapped_column(String(50), primary_key=True)


        class Setting(Base):
            __tablename__ = SETTINGS_TABLE
            id: Mapped[int] = mapped_column(primary_key=True)
            key: Mapped[str] = mapped_column(KEY_COLUMN, String(50), unique=True)


        events = Table(
            f"{constants.PREFIX}_events", Base.metadata,
            Column("id", Integer, primary_key=True),
            Column(constants.KEY_COLUMN, String(50)),
            UniqueConstraint(KEY_COLUMN, name=f"{constants.PREFIX}_events_key"),
        )
    ''',
}

CREATE_ALL = (
    "import sys; sys.path.insert(0, '.'); import sqlalchemy; import app.models; from app.base import Base, PrefixedBase; "
    "engine = sqlalchemy.create_engine({url!r}); Base.metadata.create_all(engine); PrefixedBase.metadata.create_all(engine)"
)


def _write(root, files: dict) -> list:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return sorted(root.rglob("*.py"))


@pytest.mark.parametrize("dialect", ["postgres", "sqlite", "mysql"])
def test_declared_attr_table_names_and_constants_equal_create_all(dialect, request, tmp_path):
    if dialect == "mysql":
        url = request.getfixturevalue("mariadb_url")
        driver_url = url.replace("mysql://", "mysql+pymysql://", 1)
    else:
        url = request.getfixturevalue("pg_database") if dialect == "postgres" else None
        driver_url = sqlalchemy_url(dialect, url, tmp_path / "live.sqlite")
    project = tmp_path / "project"
    files = _write(project, FILES)
    run_python(CREATE_ALL.format(url=driver_url), project)
    source = read_sqlalchemy_models(project, files, dialect)
    assert source.diagnostics == []
    static = catalog_from_source(source, dialect)
    assert comparable(static) == live_comparable(dialect, url, tmp_path / "live.sqlite")
    assert foreign_key_set(static) == live_foreign_keys(dialect, url, tmp_path / "live.sqlite")
    assert source.table_names["HTTPRequestLog"].strip('"`') == "http_request_log"


def test_a_declared_attr_it_cannot_evaluate_is_reported(tmp_path):
    files = _write(tmp_path, {"models.py": '''
        from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column
        from settings import PREFIX


        class Base(DeclarativeBase):
            @declared_attr.directive
            def __tablename__(cls):
                return PREFIX + cls.__name__.lower()


        class Thing(Base):
            id: Mapped[int] = mapped_column(primary_key=True)


        class Mixin(Base):
            __abstract__ = True
            id: Mapped[int] = mapped_column(primary_key=True)
    '''})
    source = read_sqlalchemy_models(tmp_path, files, "postgres")
    assert [(d.line, d.message) for d in source.diagnostics] == [
        (12, "model Thing: Base.__tablename__ (a declared_attr) not evaluated (name PREFIX); its keys are not in the catalog"),
    ]
    assert catalog_from_source(source, "postgres").tables == {}
