"""SQL text with unknown parts ("holes"), and which parts of a statement they leave unknown.

Real code builds SQL from constant text and run-time values:
`f"INSERT INTO users ({cols}) VALUES ({marks}) ON CONFLICT (email) DO UPDATE SET {sets}"`.
The folder (auditor.python.constants) writes each run-time piece as the identifier `HOLE`,
so the text still parses; this module turns a hole into SQL that parses where it stands
(a row after VALUES, an assignment after SET) and tells, for a parsed statement, which of
its parts hold a hole. Rules declare the parts they need (`Rule.needs`) and run whenever
those are known: the target and the table are enough for UPS001, the values are not needed.
"""

from __future__ import annotations

import re

HOLE = "__ua_unknown__"
SHOWN = "{?}"  # how a hole is shown to the user

# The parts of a write statement a rule can need.
TABLE, COLUMNS, TARGET, UPDATE, VALUES = "table", "columns", "target", "update", "values"
ALL_PARTS = frozenset({TABLE, COLUMNS, TARGET, UPDATE, VALUES})

_CLAUSE = re.compile(r"\b(SET|VALUES|WHERE|FROM|INTO|ON|SELECT|RETURNING|UPDATE)\b", re.I)


def shown(text: str | None) -> str | None:
    """The SQL as the user should read it: each unknown part as {?}."""
    return text.replace(HOLE, SHOWN) if text else text


def parseable(text: str) -> str:
    """The text with each hole replaced by SQL that parses where it stands: a row after
    VALUES, `h = h` as a whole assignment after SET, the bare identifier anywhere else."""
    if HOLE not in text:
        return text
    return re.sub(re.escape(HOLE), lambda m: _stand_in(text[:m.start()]), text)


def _stand_in(before: str) -> str:
    """A whole item of a SET list becomes an assignment, a whole row of VALUES a row."""
    clauses = list(_CLAUSE.finditer(before))
    if not clauses:
        return HOLE
    clause = clauses[-1]
    since = before[clause.end():]
    depth = since.count("(") - since.count(")")
    whole_item = depth == 0 and (not since.strip() or since.rstrip().endswith(","))
    if whole_item and clause[1].upper() == "SET":
        return f"{HOLE} = {HOLE}"
    if whole_item and clause[1].upper() == "VALUES":
        return f"({HOLE})"
    return HOLE


def _holds(node) -> bool:
    if isinstance(node, list):
        return any(_holds(n) for n in node)
    return node is not None and HOLE in node.sql()


def unknown_parts(tree, text: str) -> frozenset[str]:
    """Which parts of a parsed write statement (a sqlglot tree, parsed from `text`) hold a hole."""
    if HOLE not in text:
        return frozenset()
    from sqlglot import exp  # here, not at import: extraction workers import this module and never parse SQL
    parts = set()
    target = tree.this
    if isinstance(tree, exp.Insert):
        table = target.this if isinstance(target, exp.Schema) else target
        if _holds(table):
            parts.add(TABLE)
        if isinstance(target, exp.Schema) and any(_holds(c) for c in target.expressions):
            parts.add(COLUMNS)
        if _holds(tree.expression):
            parts.add(VALUES)
        conflict = tree.args.get("conflict")
        if conflict is not None:
            if any(_holds(conflict.args.get(k)) for k in ("conflict_keys", "constraint", "index_predicate")):
                parts.add(TARGET)
            if any(_holds(e) for e in conflict.expressions) or _holds(conflict.args.get("where")):
                parts.add(UPDATE)
    elif isinstance(tree, exp.Update):
        if _holds(target):
            parts.add(TABLE)
        if any(_holds(e) for e in tree.expressions):
            parts |= {COLUMNS, UPDATE}
        if _holds(tree.args.get("where")):
            parts.add(VALUES)
    else:  # DELETE, MERGE, REPLACE read as a command: what is unknown is not told apart
        parts = set(ALL_PARTS) if _holds(target) else set(ALL_PARTS - {TABLE})
    return frozenset(parts)
