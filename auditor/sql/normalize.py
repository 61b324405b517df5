"""Canonical forms of SQL fragments, so keys and conflict targets compare by meaning.

Two spellings of one key element must produce the same text: `LOWER((Email))`,
`lower(email)` and `lower("email")` are one expression to PostgreSQL. We fold
identifiers the way the dialect does, drop redundant parentheses, sort order /
opclass / collation noise away, and print with lower-case function names.
"""

from __future__ import annotations

import re

from sqlglot import exp

from auditor.dialects import fold_identifier
from auditor.model import KeyElement

SQLGLOT_DIALECT = {"postgres": "postgres", "sqlite": "sqlite", "mysql": "mysql"}

_PLAIN_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_$]*$")

_TEXT_TYPES = {exp.DataType.Type.TEXT, exp.DataType.Type.VARCHAR, exp.DataType.Type.CHAR, exp.DataType.Type.NVARCHAR}


def identifier_name(node: exp.Expression | str | None, dialect: str) -> str | None:
    """Folded name of an Identifier / Column / Table-name node (or a plain string)."""
    if node is None:
        return None
    if isinstance(node, str):
        return fold_identifier(node, False, dialect)
    if isinstance(node, exp.Identifier):
        return fold_identifier(node.this, bool(node.args.get("quoted")), dialect)
    if isinstance(node, (exp.Column, exp.Table)):
        return identifier_name(node.this, dialect)
    return fold_identifier(node.name, False, dialect)


def _strip(node: exp.Expression) -> exp.Expression:
    """Remove wrappers that do not change which key an element denotes."""
    while True:
        if isinstance(node, (exp.Paren, exp.Ordered)):
            node = node.this
        elif isinstance(node, exp.Collate):  # collation does not affect inference
            node = node.this
        else:
            return node


def canonical_sql(node: exp.Expression, dialect: str) -> str:
    """Canonical text of an expression: folded identifiers, no redundant parens."""
    node = _strip(node).copy()
    # PostgreSQL deparses stored expressions with implicit casts made explicit
    # (`lower((email)::text)`, `'active'::text`); a cast to a text type is noise here.
    for cast in list(node.find_all(exp.Cast)):
        if cast.to.this in _TEXT_TYPES:
            cast.replace(cast.this)
    if isinstance(node, exp.Cast) and node.to.this in _TEXT_TYPES:
        node = node.this
    # Parentheses are noise unless they group an operand of an operator; a
    # comparison inside AND/OR binds tighter anyway (PostgreSQL prints
    # `(a IS NULL) AND (b > 0)` for `a IS NULL AND b > 0`).
    for paren in list(node.find_all(exp.Paren)):
        parent = paren.parent
        atomic = isinstance(paren.this, (exp.Column, exp.Literal, exp.Boolean, exp.Null))  # `(kind)` of `(kind)::text`
        if atomic or not isinstance(parent, exp.Binary) or (
            isinstance(parent, exp.Connector) and isinstance(paren.this, (exp.Predicate, exp.Not))
        ):
            paren.replace(paren.this)
    node = _strip(node)
    for ident in node.find_all(exp.Identifier):
        name = fold_identifier(ident.this, bool(ident.args.get("quoted")), dialect)
        ident.set("this", name)
        ident.set("quoted", not _PLAIN_IDENTIFIER.match(name))
    return node.sql(dialect=SQLGLOT_DIALECT.get(dialect, dialect), normalize_functions="lower")


def key_element(node: exp.Expression, dialect: str) -> KeyElement:
    """A key or conflict-target element from its sqlglot node."""
    node = _strip(node)
    if isinstance(node, exp.Column) and not node.table:
        name = identifier_name(node, dialect)
        return KeyElement.column(name)
    if isinstance(node, exp.Identifier):
        name = identifier_name(node, dialect)
        return KeyElement.column(name)
    columns = tuple(
        dict.fromkeys(identifier_name(c, dialect) for c in node.find_all(exp.Column))
    )
    return KeyElement(text=canonical_sql(node, dialect), is_expression=True, columns=columns)


def conjuncts(node: exp.Expression | None, dialect: str) -> tuple[str, ...]:
    """Canonical text of each AND-ed term of a predicate, for implication by subset."""
    if node is None:
        return ()
    node = _strip(node)
    if isinstance(node, exp.Where):
        node = _strip(node.this)
    if isinstance(node, exp.And):
        return conjuncts(node.left, dialect) + conjuncts(node.right, dialect)
    return (canonical_sql(node, dialect),)


def predicate_text(node: exp.Expression | None, dialect: str) -> str | None:
    """Canonical text of a whole predicate (a WHERE node or its condition)."""
    if node is None:
        return None
    if isinstance(node, exp.Where):
        node = node.this
    return canonical_sql(node, dialect)
