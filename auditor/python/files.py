"""Finding the project's Python files, reading them, and the byte pre-filter.

The pre-filter is the first speed lever (../shared/design.md, "Performance facts"):
a bytes regex over a file costs about a tenth of parsing it, and most files of a
big project hand no SQL to any execute-like call.
"""

from __future__ import annotations

import re
import tokenize
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from auditor.walk import Exclusion, walk_files

# Substring search runs at memory speed; a regex without a literal prefix does not. So the
# call names are found with `bytes.find`, and only around each hit is the syntax checked:
# the whole identifier, a `.` before it for the method-only names, and `(` after it, so that
# `prefetch_related`, `executor` or `fetchall()` alone do not cost a parse.
CALL_NEEDLES = (b"execute", b"fetch", b"mogrify", b"bulk_create", b"upsert_record", b"exec_driver_sql")  # in every call name below
METHOD_CALLS = {b"execute", b"executemany", b"executescript", b"fetch", b"fetchrow", b"fetchval", b"mogrify", b"exec_driver_sql", b"bulk_create",
                b"fetch_one", b"fetch_all", b"fetch_val", b"execute_many"}
CALLS = {b"execute", b"execute_values", b"execute_batch", b"upsert_record", b"aupsert_record"}  # also bare
_WORD = re.compile(rb"\w*")
_OPEN_PAREN = re.compile(rb"\s*\(")
# ORM idioms need no execute call: plain substring tests. A one-call idiom (get_or_create,
# session.merge) is one by itself; an insert (`self.create(` is a custom manager's) is half of
# one only with a guard before it in the file: a read, update or delete call, or an except.
SINGLE_CALL_NEEDLES = (b"_or_create(", b"session.merge(")
ORM_INSERT_NEEDLES = (b"session.add(", b"db.add(", b".objects.create(", b".objects.acreate(", b"self.create(", b"self.acreate(")
MANAGER_NEEDLES = (b".objects.", b"Manager)", b"QuerySet)")
_MODEL_CREATE = re.compile(rb"\b[A-Z]\w*\.create\(\s*\w+\s*=")  # peewee's `TeamMember.create(user=u, ...)`
_SAVE_IN_SESSION = re.compile(rb"\.save\(\s*[\w.]*session\s*\)")  # oslo.db's `ref.save(context.session)`
# The names operations.py reads as a read, update or delete (a test keeps the two in step).
GUARD_NAMES = (
    "exists", "first", "last", "get", "count", "aexists", "afirst", "alast", "aget", "acount",
    "one", "one_or_none", "scalar", "scalar_one_or_none", "scalar_one", "all", "execute", "scalars",
    "update", "aupdate", "delete", "adelete", "get_or_none",
)
GUARD_NEEDLES = (*(f".{name}(".encode() for name in GUARD_NAMES), b"except", b"hasattr(")
# Django's bulk_create is an upsert only with update_conflicts / ignore_conflicts.
CONFLICT_ARGUMENT = b"_conflicts"


def _identifier_start(data: bytes, index: int) -> int:
    while index > 0 and (data[index - 1 : index].isalnum() or data[index - 1] == 95):  # 95: "_"
        index -= 1
    return index


def _calls_at(data: bytes, needle: bytes) -> bool:
    """Is some occurrence of `needle` inside a call of an execute-like name?"""
    index = data.find(needle)
    while index != -1:
        start = _identifier_start(data, index)
        end = _WORD.match(data, index).end()
        name = data[start:end]
        if (name in CALLS or (name in METHOD_CALLS and data[start - 1 : start] == b".")) and _OPEN_PAREN.match(data, end):
            return True
        index = data.find(needle, end)
    return False


def may_hold_execute_call(data: bytes, sink_names: re.Pattern[bytes] | None = None) -> bool:
    """The byte pre-filter: can this file contain an execute-like (or sink) call, or an ORM
    idiom, at all?"""
    return may_hold_sql_call(data, sink_names) or may_hold_orm_idiom(data)


def may_hold_sql_call(data: bytes, sink_names: re.Pattern[bytes] | None = None) -> bool:
    """An execute-like or sink call, or an ORM upsert construct."""
    if sink_names is not None and sink_names.search(data):
        return True
    return any(_calls_at(data, needle) for needle in CALL_NEEDLES if needle in data and (needle != b"bulk_create" or CONFLICT_ARGUMENT in data))


_COLLECTION_GUARD = re.compile(rb"\bnot\s+in\s+([A-Za-z_][\w.]*\.[A-Za-z_]\w*)\s*:")


# Where a relationship collection is appended to: code holding a session, or a model's own
# methods (a mapped class names its table). Plain lists are appended to everywhere else.
COLLECTION_CONTEXT = (b"session", b"Session", b"__tablename__")


def may_append_to_guarded_collection(data: bytes) -> bool:
    """`if tag not in post.tags:` ... `post.tags.append(tag)` (idioms.collection_guards), in
    code that works with SQLAlchemy models."""
    if b" not in " not in data or not (b".append(" in data or b".add(" in data):
        return False
    if not any(context in data for context in COLLECTION_CONTEXT):
        return False
    return any(m[1] + b".append(" in data or m[1] + b".add(" in data for m in _COLLECTION_GUARD.finditer(data))


def may_hold_orm_idiom(data: bytes) -> bool:
    if any(needle in data for needle in SINGLE_CALL_NEEDLES):
        return True
    if may_append_to_guarded_collection(data):
        return True
    # Django: obj = Model(...); obj.save() after a lookup through a manager (check-then-insert)
    # (or through a custom manager's own `self.get(...)`)
    inserts = (any(needle in data for needle in ORM_INSERT_NEEDLES) or (b".save()" in data and any(n in data for n in MANAGER_NEEDLES))
               or (b"session)" in data and _SAVE_IN_SESSION.search(data) is not None)
               or (b".create(" in data and _MODEL_CREATE.search(data) is not None))
    return inserts and any(needle in data for needle in GUARD_NEEDLES)


TOP_LEVEL_FUNCTION = re.compile(rb"^(?:async\s+)?def\s", re.M)
TABLE_INSERT_NEEDLES = (b'.insert("', b".insert('")  # `db.insert("accounts", account)`


def may_define_insert_helper(data: bytes) -> bool:
    """A module-level function that inserts, with no lookup in the file: half an idiom here,
    but a data layer's `create_x` that another module calls after its own lookup."""
    inserts = any(needle in data for needle in ORM_INSERT_NEEDLES) or any(needle in data for needle in TABLE_INSERT_NEEDLES)
    return inserts and TOP_LEVEL_FUNCTION.search(data) is not None


TEST_FOLDERS = ("tests", "test", "testing")  # testing/: a test suite (bancho.py) or its helpers (netbox)


def is_test_file(relative: str) -> bool:
    """Test code as pytest and unittest find it: under tests/, test/ or testing/, test_*.py,
    *_test.py, conftest.py."""
    *folders, name = relative.split("/")
    return name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py" or any(f in TEST_FOLDERS for f in folders)


def execute_call_spans(data: bytes) -> list[tuple[int, int]]:
    """Every call of an execute-like name (the bytes form of calls.EXECUTE_NAMES), as (start of
    the name, index of its `(`), sorted: which functions of the project run SQL, found before
    anything is parsed. Substring search, as in the pre-filter."""
    spans = set()
    for needle in CALL_NEEDLES:
        index = data.find(needle)
        while index != -1:
            start = _identifier_start(data, index)
            end = _WORD.match(data, index).end()
            name = data[start:end]
            if name in CALLS or (name in METHOD_CALLS and data[start - 1 : start] == b"."):
                paren = _OPEN_PAREN.match(data, end)
                if paren:
                    spans.add((start, paren.end() - 1))
            index = data.find(needle, end)
    return sorted(spans)


_IMPORTED = re.compile(rb"^[ \t]*(?:from[ \t]+[\w.]+[ \t]+)?import[ \t]+(\([^)]*\)|[^\n]*)", re.M)


def calls_one_of(data: bytes, names: frozenset[bytes]) -> bool:
    """Does the file call one of the project's module-level helper functions: `name(...)` with
    the name imported here, or `module.name(...)`? (Few names: a substring search for each.)"""
    imported = None
    for name in names:
        index = data.find(name)
        while index != -1:
            end = index + len(name)
            whole = _identifier_start(data, index) == index and not (data[end : end + 1].isalnum() or data[end : end + 1] == b"_")
            if whole and _OPEN_PAREN.match(data, end):
                if data[index - 1 : index] == b".":
                    return True
                if imported is None:
                    imported = set(re.findall(rb"\w+", b" ".join(_IMPORTED.findall(data))))
                if name in imported:
                    return True
            index = data.find(name, end)
    return False


_IMPORT_LINE = re.compile(rb"^[ \t]*(?:from[ \t]+([\w.]+)[ \t]+)?import[ \t]+(\([^)]*\)|[^\n]*)", re.M)


def imported_words(data: bytes) -> frozenset[bytes]:
    """Every name the file's import statements mention: modules, packages and what they bring
    in (`from ..crud import create_tag` gives crud and create_tag). Only the import lines are
    read: a file that calls a function of another module must name it, or its module, there."""
    return frozenset(word for match in _IMPORT_LINE.finditer(data) for part in match.groups() if part for word in re.findall(rb"\w+", part))


def python_files(root: Path, excluded: Exclusion | None = None) -> list[Path]:
    """Every .py file under root, skipping virtualenvs, VCS and build folders; sorted."""
    return walk_files(Path(root), (".py",), excluded)[".py"]


@dataclass(frozen=True)
class Source:
    text: str | None
    error: str | None = None  # why the text could not be had


def decode_source(data: bytes) -> Source:
    """Decode like Python does (PEP 263 coding line, UTF-8 default); never raise."""
    if b"\x00" in data:
        return Source(None, "contains NUL bytes (binary file?)")
    try:
        encoding, _ = tokenize.detect_encoding(BytesIO(data).readline)
    except SyntaxError as error:
        if not str(error).startswith("unknown encoding"):
            return Source(None, f"cannot be decoded: {error}")
        # A codec registered at run time (`# -*- coding: future_fstrings -*-` rewrites
        # f-strings for Python 2): its text is UTF-8, and it is read as such.
        encoding = "utf-8"
    try:
        return Source(data.decode(encoding))
    except (UnicodeDecodeError, LookupError) as error:
        return Source(None, f"cannot be decoded: {error}")
