"""Connection handling."""

import os

import psycopg

DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/avatar")


def connect() -> psycopg.Connection:
    return psycopg.connect(DATABASE_URL)
