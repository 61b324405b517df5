"""Shared fixtures: throwaway databases on the real servers.

Addresses come from the environment, with the machine's defaults:
  UPSERT_AUDIT_PG_URL     postgresql://postgres@127.0.0.1:5432/test
  UPSERT_AUDIT_MYSQL_URL  mysql://root@127.0.0.1:3306/test
Each test gets its own uniquely named database and drops it afterwards. When a
server is unreachable a test skips on a developer machine but FAILS in CI
(CI=true): the database is the oracle, and a silent skip would hide that.
"""

from __future__ import annotations

import os
import uuid
from urllib.parse import urlparse, urlunparse

import pytest

PG_URL = os.environ.get("UPSERT_AUDIT_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
MYSQL_URL = os.environ.get("UPSERT_AUDIT_MYSQL_URL", "mysql://root@127.0.0.1:3306/test")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _unreachable(what: str, error: Exception):
    message = f"{what} unreachable: {error}"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def _with_database(url: str, name: str) -> str:
    parts = urlparse(url)
    return urlunparse(parts._replace(path="/" + name))


@pytest.fixture
def pg_database():
    """URL of a fresh, empty PostgreSQL database, dropped after the test."""
    psycopg = pytest.importorskip("psycopg")
    name = f"ua_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(PG_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        _unreachable("PostgreSQL", error)
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield _with_database(PG_URL, name)
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def mariadb_database():
    """(connect kwargs) of a fresh MariaDB database, dropped after the test."""
    pymysql = pytest.importorskip("pymysql")
    parts = urlparse(MYSQL_URL)
    params = dict(host=parts.hostname or "127.0.0.1", port=parts.port or 3306, user=parts.username or "root", password=parts.password or "")
    name = f"ua_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = pymysql.connect(connect_timeout=5, autocommit=True, **params)
    except pymysql.MySQLError as error:
        _unreachable("MariaDB", error)
    try:
        with admin.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{name}`")
        yield dict(params, database=name)
    finally:
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        admin.close()


@pytest.fixture
def mariadb_url(mariadb_database):
    """The same fresh MariaDB database as a mysql:// URL (what --database-url takes)."""
    p = mariadb_database
    password = f":{p['password']}" if p["password"] else ""
    return f"mysql://{p['user']}{password}@{p['host']}:{p['port']}/{p['database']}"


@pytest.fixture
def django_database(request, tmp_path):
    """`django_database(dialect)`: Django's DATABASES entry for a fresh database of that dialect
    (the fixtures above; a file for SQLite). Django's MySQL backend needs mysqlclient: without
    it the test skips."""

    def entry(dialect: str) -> dict:
        if dialect == "sqlite":
            return {"ENGINE": "django.db.backends.sqlite3", "NAME": str(tmp_path / "django.sqlite3")}
        if dialect == "mysql":
            pytest.importorskip("MySQLdb")
        url = urlparse(request.getfixturevalue("pg_database" if dialect == "postgres" else "mariadb_url"))
        engine = "django.db.backends.postgresql" if dialect == "postgres" else "django.db.backends.mysql"
        return {"ENGINE": engine, "NAME": url.path[1:], "USER": url.username or "", "PASSWORD": url.password or "",
                "HOST": url.hostname, "PORT": str(url.port)}

    return entry


def write_files(root, files: dict):
    """Write {relative path: text or bytes} under root (text is dedented); return root."""
    import textwrap

    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content))
    return root


@pytest.fixture
def make_project(tmp_path):
    """make_project({path: content}) writes a throwaway project into tmp_path and returns it."""
    return lambda files: write_files(tmp_path, files)
