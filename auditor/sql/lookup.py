"""Which row a statement looks up: its table and the columns its WHERE pins by equality.

    SELECT id FROM avatars WHERE user_id = %s AND kind = 'owl'  ->  avatars, (user_id, kind)

An idiom's guard (the SELECT of check-then-insert, the UPDATE of update-then-insert,
the DELETE of delete-then-insert) names the key the code means; whether the schema
has a unique key on exactly those columns decides what the race does. Only AND-ed
`column = value` terms pin a column exactly; `lower(email) = ...` looks the column up too,
not exactly; anything else (`LIKE`, `OR`) is a filter that no unique key backs. Both make
the lookup `inexact`.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from auditor.model import TableName
from auditor.sql.normalize import SQLGLOT_DIALECT, identifier_name
from auditor.sql.placeholders import normalize_placeholders


@dataclass(frozen=True)
class Lookup:
    table: TableName
    columns: tuple[str, ...]  # pinned by `column = value`, folded, in order
    inexact: bool  # the WHERE also filters by something that is not a column equality
    case_folded: tuple[str, ...] = ()  # of `columns`, those only compared ignoring case (`lower(c) = v`)


def _conjunct_terms(node: exp.Expression | None) -> list[exp.Expression]:
    if node is None:
        return []
    if isinstance(node, exp.Paren):
        return _conjunct_terms(node.this)
    if isinstance(node, exp.And):
        return _conjunct_terms(node.left) + _conjunct_terms(node.right)
    return [node]


def _pinned_column(term: exp.Expression, dialect: str) -> tuple[str, bool] | None:
    """`c = <value>` or `<value> = c`, where the value reads no column: the column's name, and
    whether it is pinned exactly. `lower(c) = <value>` (lnbits' `LOWER(username) = :username`)
    looks the column up too, case-insensitively: the column, not exactly."""
    if not isinstance(term, exp.EQ):
        return None
    for column, value in ((term.left, term.right), (term.right, term.left)):
        if any(True for _ in value.find_all(exp.Column)):
            continue
        if isinstance(column, exp.Column):
            return identifier_name(column.this, dialect), True
        if isinstance(column, (exp.Lower, exp.Upper)) and isinstance(column.this, exp.Column):
            return identifier_name(column.this.this, dialect), False
    return None


def _single_table(tree: exp.Expression, dialect: str) -> TableName | None:
    target = tree.this if isinstance(tree, (exp.Update, exp.Delete)) else tree.args.get("from_")
    if isinstance(tree, exp.Select) and (tree.args.get("joins") or target is None):
        return None
    table = target.find(exp.Table) if target is not None else None
    if table is None or not isinstance(table.this, exp.Identifier):
        return None
    schema = identifier_name(table.args.get("db"), dialect) if table.args.get("db") else None
    return TableName(schema, identifier_name(table.this, dialect))


def read_lookup(sql: str, dialect: str) -> Lookup | None:
    """The lookup of one SELECT / UPDATE / DELETE over a single table; None for anything else."""
    try:
        trees = [t for t in sqlglot.parse(normalize_placeholders(sql).sql, read=SQLGLOT_DIALECT.get(dialect, dialect)) if t is not None]
    except (SqlglotError, Exception):  # noqa: BLE001 - an unreadable guard just means no idiom
        return None
    if len(trees) != 1 or not isinstance(trees[0], (exp.Select, exp.Update, exp.Delete)):
        return None
    tree = trees[0]
    table = _single_table(tree, dialect)
    if table is None:
        return None
    where = tree.args.get("where")
    terms = _conjunct_terms(where.this if where is not None else None)
    pinned = [_pinned_column(t, dialect) for t in terms]
    columns = tuple(dict.fromkeys(c[0] for c in pinned if c))
    exact = {c[0] for c in pinned if c and c[1]}
    case_folded = tuple(c for c in columns if c not in exact)
    return Lookup(table, columns, inexact=any(c is None or not c[1] for c in pinned), case_folded=case_folded)
