"""The name a database gives a key nobody named, and the names we give the keys we add.

PostgreSQL builds `<table>_<columns>_<label>` and fits it into 63 bytes by shortening the
longer of the table and column parts, one byte at a time, never splitting a character
(makeObjectName in src/backend/commands/indexcmds.c); a clash gets a counter on the
label (`t_a_key1`). MySQL/MariaDB allow 64 characters. SQLite has no limit.
"""

from __future__ import annotations

from typing import Iterable

from auditor.dialects import MYSQL, POSTGRES, POSTGRES_NAME_BYTES, clip_postgres_name, clip_utf8

MYSQL_NAME_CHARACTERS = 64


def _byte_length(text: str) -> int:
    return len(text.encode())


def postgres_object_name(table: str, columns: Iterable[str], label: str) -> str:
    """PostgreSQL's default name for a key of `table` on `columns` (none for a primary key)."""
    addition = "_".join(columns)
    if _byte_length(addition) > POSTGRES_NAME_BYTES:  # ChooseIndexNameAddition stops near one name's size
        addition = clip_utf8(addition, POSTGRES_NAME_BYTES + 1)
    table_bytes, addition_bytes = _byte_length(table), _byte_length(addition)
    overhead = len(label) + 1 + (1 if addition else 0)
    available = POSTGRES_NAME_BYTES - overhead
    while table_bytes + addition_bytes > available:
        if table_bytes > addition_bytes:
            table_bytes -= 1
        else:
            addition_bytes -= 1
    parts = [clip_utf8(table, table_bytes)] + ([clip_utf8(addition, addition_bytes)] if addition else []) + [label]
    return "_".join(parts)


def clip_name(name: str, dialect: str) -> str:
    """A name we make up (an archive table's), cut to what the database keeps."""
    if dialect == POSTGRES:
        return clip_postgres_name(name)
    return name[:MYSQL_NAME_CHARACTERS] if dialect == MYSQL else name


def new_key_name(table: str, columns: Iterable[str], dialect: str, label: str = "key") -> str:
    """The name we give a key we add: PostgreSQL's own default, so a reader of the database
    finds what they would have got from `UNIQUE (...)`; within MySQL's limit there."""
    columns = list(columns)
    if dialect == POSTGRES:
        return postgres_object_name(table, columns, label)
    return clip_name("_".join([table, *columns, label]), dialect)
