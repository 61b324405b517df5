"""Compare two catalogs: the oracle tests' equality and the drift users are shown.

`comparable` is everything a rule relies on, without provenance; the tests
assert that a catalog read from files equals the live one by it. `key_drift`
lists keys one side has and the other lacks, for tables both know: names are
not compared there, since the same key may be named by hand on one side and by
default on the other.
"""

from __future__ import annotations

from dataclasses import dataclass

from auditor.model import Catalog, ForeignKey, KeyKind, Location, TableName, UniqueKey


def key_fields(key: UniqueKey, names: bool = True) -> tuple:
    return (
        key.kind.value, (key.name or "") if names else "", tuple(e.text for e in key.elements), key.include,
        key.predicate or "", key.nulls_not_distinct, key.deferrable, key.initially_deferred,
    )


def comparable(catalog: Catalog, names: bool = True) -> dict:
    """{table: {columns: {name: nullable}, keys: sorted key tuples}}; `names=False` ignores key
    names (for sources whose names the database makes up, like Django's hashed ones)."""
    return {
        str(name): {
            "columns": {c.name: c.nullable for c in table.columns.values()},
            "keys": sorted(key_fields(k, names) for k in table.keys),
        }
        for name, table in catalog.tables.items()
    }


def foreign_key_set(catalog: Catalog, names: bool = False) -> set[tuple]:
    """(table, columns, referenced table, referenced columns[, name]) of every foreign key, a
    reference to the primary key spelled out: the tests' equality for foreign keys. Names only
    on request: frameworks name theirs by rules of their own (Django's hashes)."""
    found = set()
    for name, table in catalog.tables.items():
        for fk in table.foreign_keys:
            parent, referenced = _referenced(catalog, fk)
            found.add((str(name), fk.columns, str(parent), referenced) + ((fk.name,) if names else ()))
    return found


def _referenced(catalog: Catalog, fk: ForeignKey) -> tuple[TableName, tuple[str, ...]]:
    """The parent table as the catalog names it, and the referenced columns, a reference to
    the primary key (`()`) spelled out."""
    parent = catalog.lookup(fk.references)
    primary = next((k for k in parent.keys if k.kind is KeyKind.PRIMARY), None) if parent else None
    referenced = fk.referenced_columns or (tuple(e.text for e in primary.elements) if primary else ())
    return (parent.name if parent else fk.references), referenced


@dataclass(frozen=True)
class KeyDrift:
    table: str
    key: str
    where: str  # which side has it: e.g. "live database only", "schema files only"
    origin: Location | None = None


def _signature(key: UniqueKey) -> tuple:
    return (key.kind.value, tuple(sorted(key.element_set)), key.predicate or "", key.nulls_not_distinct, key.deferrable)


def _foreign_key_signatures(catalog: Catalog, table) -> dict[tuple, object]:
    """A table's foreign keys by what they tie (names aside: a hand-named key and a default-named
    one are the same constraint); the parent's primary key spelled out."""
    found = {}
    for fk in table.foreign_keys:
        parent, referenced = _referenced(catalog, fk)
        found[(fk.columns, parent.name, referenced)] = fk
    return found


def foreign_key_drift(left: Catalog, right: Catalog, left_only: str, right_only: str) -> list[KeyDrift]:
    """Foreign keys on one side only, for tables both know: a migration re-points the children
    its catalog knows, so one the files miss is a child left pointing at a removed row."""
    drift = []
    for name, table in left.tables.items():
        other = right.lookup(name)
        if other is None:
            continue
        mine, theirs = _foreign_key_signatures(left, table), _foreign_key_signatures(right, other)
        drift += [KeyDrift(str(name), fk.describe(), left_only, fk.origin) for s, fk in mine.items() if s not in theirs]
        drift += [KeyDrift(str(name), fk.describe(), right_only, fk.origin) for s, fk in theirs.items() if s not in mine]
    return drift


def key_drift(left: Catalog, right: Catalog, left_only: str, right_only: str) -> list[KeyDrift]:
    """Tables and keys on one side only (left's tables missing on the right count whole)."""
    drift = []
    for name, table in left.tables.items():
        other = right.lookup(name)
        if other is None:
            drift.append(KeyDrift(str(name), "(whole table)", left_only, table.origin))
            continue
        right_keys = {_signature(k) for k in other.keys}
        left_keys = {_signature(k) for k in table.keys}
        drift += [KeyDrift(str(name), k.describe(), left_only, k.origin) for k in table.keys if _signature(k) not in right_keys]
        drift += [KeyDrift(str(name), k.describe(), right_only, k.origin) for k in other.keys if _signature(k) not in left_keys]
    return drift
