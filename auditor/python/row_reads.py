"""Does the code read the row a statement returns without checking that one came back?

`INSERT ... ON CONFLICT DO NOTHING RETURNING id` returns no row when the key exists, so
`cur.fetchone()[0]` raises TypeError on exactly the conflict the statement was written for.
Code that checks (`row = cur.fetchone(); if row is None: ...`) is fine. We recognise the
unguarded reads that need no data flow:

* in the call's own statement: `cur.execute(sql).fetchone()[0]`,
  `(await conn.fetchrow(sql))["id"]`, `conn.execute(sql).first().id`;
* in the statement right after it: `cur.execute(sql)` then `... cur.fetchone()[0] ...`.
"""

from __future__ import annotations

import ast

from auditor.python.sinks import dotted_name

ROW_FETCHES = {"fetchone", "first", "scalar", "scalar_one", "one"}  # one row (or its first value) of a result
ROW_RETURNING_CALLS = {"fetchrow"}  # asyncpg: the row itself, None when there is none


def _unawait(node: ast.AST) -> ast.AST:
    return node.value if isinstance(node, ast.Await) else node


def _fetched_from(node: ast.AST) -> ast.AST | None:
    """For `X.fetchone()` (awaited or not), X; else None."""
    node = _unawait(node)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ROW_FETCHES:
        return _unawait(node.func.value)
    return None


def _read_values(tree: ast.AST):
    """The values whose row is read: `v[...]` and `v.attr`."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.Subscript, ast.Attribute)):
            yield node.value


def unguarded_row_reads(statement: ast.stmt, following: ast.stmt | None) -> set[int]:
    """ids of the Call nodes in `statement` whose returned row the code reads unguarded."""
    marked: set[int] = set()
    for value in _read_values(statement):
        source = _fetched_from(value)
        if isinstance(source, ast.Call):
            marked.add(id(source))  # cur.execute(sql).fetchone()[0]
        value = _unawait(value)
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and value.func.attr in ROW_RETURNING_CALLS:
            marked.add(id(value))  # (await conn.fetchrow(sql))["id"]
    if following is None:
        return marked
    receivers = {dotted_name(source) for v in _read_values(following) if (source := _fetched_from(v)) is not None}
    receivers.discard(None)
    if receivers:
        for node in ast.walk(statement):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and dotted_name(node.func.value) in receivers:
                marked.add(id(node))  # cur.execute(sql); x = cur.fetchone()[0]
    return marked
