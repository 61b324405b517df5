"""Defaults that give every new row a value no other row has: `default=uuid.uuid4`.

A primary key the application fills this way is not a key a new row can clash on, as an
auto-increment id is not: the model readers leave such columns out of what an ORM bulk insert
writes (`"<values:Model>"`), so UPS012 does not count the key among those a targetless
`ON CONFLICT DO NOTHING` can silently skip on.
"""

from __future__ import annotations

import ast

from auditor.schema.pysource import short_name

FRESH_VALUE_FUNCTIONS = frozenset({"uuid1", "uuid4", "uuid6", "uuid7", "uuid_generate_v4", "ulid", "new_ulid"})


def is_fresh_default(node: ast.expr | None) -> bool:
    """`uuid.uuid4`, `uuid4` or `uuid_utils.uuid7` given as the default (the function, not a call
    of it: a call would be one value for every row)."""
    name = short_name(node)
    return name in FRESH_VALUE_FUNCTIONS


def fresh_primary_key(call: ast.Call) -> bool:
    """A field or column call with `primary_key=True` and a fresh-value default."""
    keywords = {k.arg: k.value for k in call.keywords if k.arg}
    primary = keywords.get("primary_key")
    return isinstance(primary, ast.Constant) and primary.value is True and is_fresh_default(keywords.get("default"))
