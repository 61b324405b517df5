"""The example's own tests run against a real PostgreSQL database: DATABASE_URL (its
tables are created from migrations/ and emptied between tests)."""

import os
import sys
from pathlib import Path

import psycopg
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/avatar")
TABLES = "api_tokens, user_preferences, avatar_configurations, users"


@pytest.fixture(scope="session")
def migrated():
    with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
        if conn.execute("SELECT to_regclass('users')").fetchone()[0] is None:  # a database migrated before is reused
            for path in sorted((ROOT / "migrations").glob("*.sql")):
                conn.execute(path.read_text())
    return DATABASE_URL


@pytest.fixture
def conn(migrated):
    with psycopg.connect(migrated) as connection:
        yield connection
        connection.rollback()
        connection.execute(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE")
        connection.commit()
