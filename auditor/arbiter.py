"""PostgreSQL's arbiter inference for ON CONFLICT, as pure functions.

Mirrors `infer_arbiter_indexes` (src/backend/optimizer/util/plancat.c): a key
arbitrates a column/expression target iff it is a valid unique index whose key
elements equal the target's as a set (order and repeats do not matter; subsets
and supersets never match; INCLUDE columns are not key elements), and, if it is
partial, the statement's index predicate implies the key's predicate. We prove
implication conservatively: every conjunct of the key's predicate must appear
among the statement's conjuncts (canonical text). Exclusion constraints are
never inferred from a target; only `ON CONSTRAINT` reaches them. SQLite matches
targets the same way for the cases our rules cover (checked by the rule tests).

The rules share one `Inference` per statement, so each rule is a few lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import sqlglot

from auditor.model import KeyElement, KeyKind, Table, UniqueKey
from auditor.sites import ConflictAction, ConflictClause, WriteStatement
from auditor.sql.normalize import SQLGLOT_DIALECT, conjuncts


# What each database says when inference finds no arbiter (verified; rule examples use it).
NO_ARBITER_ERRORS = {
    "dialects": ("postgres", "sqlite"),
    "sqlstate": "42P10",
    "postgres_message": "there is no unique or exclusion constraint matching the ON CONFLICT specification",
    "sqlite_code": "SQLITE_ERROR",
    "sqlite_error": "ON CONFLICT clause does not match any PRIMARY KEY or UNIQUE constraint",
}


@lru_cache(maxsize=1024)
def predicate_conjuncts(predicate: str, dialect: str) -> frozenset[str]:
    return frozenset(conjuncts(sqlglot.parse_one(predicate, read=SQLGLOT_DIALECT.get(dialect, dialect)), dialect))


def predicate_implied(conflict: ConflictClause, key: UniqueKey, dialect: str) -> bool:
    if key.predicate is None:
        return True
    return predicate_conjuncts(key.predicate, dialect) <= set(conflict.index_predicate_conjuncts)


@dataclass(frozen=True)
class Inference:
    arbiters: tuple[UniqueKey, ...]  # keys PostgreSQL would use for a column/expression target
    partial_misses: tuple[UniqueKey, ...]  # same elements, but the predicate is not implied
    expression_misses: tuple[UniqueKey, ...]  # expression keys over exactly the target's bare columns
    exclusion_misses: tuple[UniqueKey, ...]  # exclusion constraints over the target's elements
    related: tuple[UniqueKey, ...]  # keys sharing a column with the target (for messages)

    @property
    def explained_miss(self) -> bool:
        """No arbiter, but a more specific rule than UPS001 says why."""
        return bool(self.partial_misses or self.expression_misses or self.exclusion_misses)


def infer(conflict: ConflictClause, table: Table, dialect: str) -> Inference:
    """Inference for a statement with a column/expression target."""
    target = conflict.target_set
    target_columns = {c for e in conflict.target for c in e.columns}
    bare_target = not any(e.is_expression for e in conflict.target)
    arbiters, partial, expression, exclusion, related = [], [], [], [], []
    for key in table.keys:
        if not key.valid:
            continue
        if key.kind is KeyKind.EXCLUSION:
            if key.element_set == target:
                exclusion.append(key)
            continue
        key_columns = key.column_set
        if key_columns & target_columns:
            related.append(key)
        if key.element_set == target:
            (arbiters if predicate_implied(conflict, key, dialect) else partial).append(key)
        elif bare_target and key.has_expression and key_columns == target_columns:
            expression.append(key)
    return Inference(tuple(arbiters), tuple(partial), tuple(expression), tuple(exclusion), tuple(related))


def has_column_target(conflict: ConflictClause | None) -> bool:
    return conflict is not None and bool(conflict.target)


def hittable_keys(statement: WriteStatement, table: Table) -> tuple[UniqueKey, ...]:
    """The unique keys a row written by `statement` can collide with: those whose every column
    it writes (all keys when it lists no columns). A key over columns it leaves to their
    defaults, such as an auto-increment id, never collides with a new row's generated value."""
    keys = [k for k in table.unique_keys if k.valid]
    if not statement.columns:
        return tuple(keys)
    written = set(statement.columns)
    return tuple(k for k in keys if k.column_set <= written)


def arbiter_keys(statement: WriteStatement, table: Table, dialect: str) -> tuple[UniqueKey, ...]:
    """The keys whose conflict fires the statement's ON CONFLICT / ON DUPLICATE KEY action."""
    conflict = statement.conflict
    if conflict is None:
        return ()
    if conflict.action is ConflictAction.DUPLICATE_KEY_UPDATE or not (conflict.target or conflict.constraint):
        return hittable_keys(statement, table)  # MySQL has no target: any key the row can hit
    if conflict.constraint:
        key = table.key_named(conflict.constraint)
        return (key,) if key is not None else ()
    return infer(conflict, table, dialect).arbiters


def intended_key(statement: WriteStatement) -> tuple[str, ...]:
    """The key an ON DUPLICATE KEY UPDATE means, which MySQL cannot be told: the columns it
    inserts but does not update (an upsert updates the values and keeps the identity)."""
    conflict = statement.conflict
    updated = set(conflict.update_columns) if conflict else set()
    return tuple(c for c in statement.columns if c not in updated)


def key_columns(statement: WriteStatement) -> tuple[str, ...]:
    """The columns the statement needs a unique key on: its conflict target, or for
    ON DUPLICATE KEY UPDATE the key it means."""
    conflict = statement.conflict
    if conflict is not None and conflict.action is ConflictAction.DUPLICATE_KEY_UPDATE:
        return intended_key(statement)
    return tuple(dict.fromkeys(e.text for e in conflict.target)) if conflict else ()


CASE_FOLDING = re.compile(r"^(?:lower|upper)\((\w+)\)$")


def _pinned_element(element: KeyElement, pinned: set[str], case_folded: set[str]) -> bool:
    """A key element the lookup pins: a column it compares, or `lower(c)` / `upper(c)` of a
    column it compares ignoring case (an index the lookup's own comparison matches)."""
    if not element.is_expression:
        return element.text in pinned
    folding = CASE_FOLDING.match(element.text)
    return folding is not None and folding.group(1) in case_folded


def covering_key(table: Table, columns: tuple[str, ...], case_folded: tuple[str, ...] = ()) -> UniqueKey | None:
    """A unique key that makes `columns = values` match at most one row: a key (no partial
    predicate) over some of those columns, or over `lower(c)` of a column the lookup compares
    ignoring case. The smallest wins, and of equal ones a key on the comparison the lookup makes."""
    pinned, folded = set(columns), set(case_folded)
    keys = [
        k for k in table.unique_keys
        if k.valid and not k.predicate and k.kind is not KeyKind.EXCLUSION
        and all(_pinned_element(e, pinned, folded) for e in k.elements)
    ]
    return min(keys, key=lambda k: (len(k.elements), not k.has_expression)) if keys else None
