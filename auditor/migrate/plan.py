"""Which unique keys to add, and everything a safe migration needs to know about each.

A key is planned for every UPS001 finding (the statement's conflict target matches
no key): the target's columns on the target's table; for MySQL's ON DUPLICATE KEY
UPDATE, which has no target, the columns it inserts but does not update. A racy idiom
whose lookup no unique key covers (UPS101-104 check/update/delete-then-insert, UPS201
get_or_create) gets the key its lookup means, after which it can become one atomic upsert. The rows to keep are the most
recent per key, by the `keep-newest-by` columns the table has (default `updated_at`,
then `created_at`), then the primary key, all descending; rows whose key holds a NULL are never duplicates (NULLs
are distinct in a unique key) and are left alone, except for UPS010, whose fix is a key under
which they are (PostgreSQL NULLS NOT DISTINCT; on SQLite a partial index for the NULL rows).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from auditor.arbiter import covering_key, key_columns
from auditor.dialects import MYSQL, POSTGRES, SQLITE
from auditor.key_names import clip_name, new_key_name
from auditor.engine import AuditResult
from auditor.model import Catalog, Location, Table
from auditor.races import set_replacement_reason
from auditor.sites import IdiomKind, SiteStatus

ORDER_PREFERENCE = ("updated_at", "created_at")


@dataclass(frozen=True)
class KeyMigration:
    dialect: str
    table: Table
    columns: tuple[str, ...]
    key_name: str
    archive_name: str
    primary_key: str  # the single primary key column that identifies a row
    order_by: tuple[str, ...]  # most recent first; the primary key breaks ties
    nullable_columns: tuple[str, ...]
    reasons: tuple[Location, ...] = ()  # the write sites that need the key
    # (table, column) of every single-column foreign key that references the primary key,
    # from the catalog (the PostgreSQL migration finds them in pg_constraint at run time)
    children: tuple[tuple[Table, str], ...] = ()
    # How rows whose key holds NULL are treated (UPS010): "distinct" (never duplicates: the
    # default), "not-distinct" (PostgreSQL 15+ NULLS NOT DISTINCT: NULL equals NULL), or
    # "partial" (SQLite: a unique index over the other columns WHERE the nullable ones are NULL).
    null_handling: str = "distinct"

    @property
    def slug(self) -> str:
        suffix = {"distinct": "", "not-distinct": "_nulls_not_distinct", "partial": "_where_null"}[self.null_handling]
        return f"add_unique_{self.table.name.name}_{'_'.join(self.columns)}{suffix}"

    @property
    def index_columns(self) -> tuple[str, ...]:
        """The columns the new index is on (the partial index leaves out the NULL ones)."""
        if self.null_handling == "partial":
            return tuple(c for c in self.columns if c not in self.nullable_columns)
        return self.columns


@dataclass
class MigrationPlan:
    keys: list[KeyMigration] = field(default_factory=list)
    skipped: list[tuple[Location, str]] = field(default_factory=list)  # findings no migration can fix, and why


def _null_key(result: AuditResult, finding, sites: dict) -> tuple[Table, tuple[str, ...], str] | str | None:
    """UPS010: (table, the arbiter key's columns, null handling) for the key that makes NULL
    keys conflict; a reason when the dialect has no such key."""
    site = sites.get(finding.location)
    table = result.catalog.lookup(site.statement.table) if site else None
    if site is None or table is None or site.statement.conflict is None:
        return None
    columns = key_columns(site.statement)
    nullable = [c for c in columns if (col := table.columns.get(c)) is None or col.nullable]
    if site.dialect == POSTGRES:
        return table, columns, "not-distinct"
    if site.dialect == SQLITE and len(nullable) < len(columns):
        return table, columns, "partial"
    return f"make {', '.join(nullable)} NOT NULL by hand (backfill the NULLs first): {site.dialect} has no NULLS NOT DISTINCT key"


# Idiom rules whose fix is a unique key on the lookup when none covers it.
LOOKUP_KEY_RULES = ("UPS101", "UPS102", "UPS103", "UPS104", "UPS201")
# Every rule whose findings plan_migrations can plan a key for.
KEY_RULES = ("UPS001", "UPS010", *LOOKUP_KEY_RULES)


def _lookup_key(result: AuditResult, finding, idioms: dict) -> tuple[Table, tuple[str, ...]] | str | None:
    """(table, columns) of the key an idiom's lookup needs; a reason when none can be added;
    None when a key already covers it (the finding's fix is then a code change)."""
    site = idioms.get(finding.location)
    table = result.catalog.lookup(site.table) if site else None
    if site is None or table is None or covering_key(table, site.key_columns) is not None:
        return None
    if site.inexact_lookup or not site.key_columns:
        return "the lookup is not an exact match on columns: write that unique index by hand"
    if site.kind is IdiomKind.DELETE_THEN_INSERT:
        return set_replacement_reason(site.key_columns)
    return table, site.key_columns


def plan_migrations(result: AuditResult) -> MigrationPlan:
    plan = MigrationPlan()
    sites = {site.location: site for site in result.sites if site.status is SiteStatus.CHECKED}
    idioms = {site.location: site for site in result.idiom_sites}
    planned: dict[tuple, KeyMigration] = {}

    def add(location: Location, table: Table, columns: tuple[str, ...], dialect: str, nulls: str = "distinct") -> None:
        identity = (table.name, frozenset(columns), nulls)
        if identity in planned:
            existing = planned[identity]
            planned[identity] = KeyMigration(**{**existing.__dict__, "reasons": existing.reasons + (location,)})
            return
        migration = key_migration(result.catalog, table, columns, dialect, (location,),
                                  result.config.keep_newest_by, result.config.archive_table, nulls)
        if isinstance(migration, str):
            plan.skipped.append((location, migration))
        else:
            planned[identity] = migration

    for finding in result.findings:
        if finding.rule == "UPS010":
            needed = _null_key(result, finding, sites)
            if isinstance(needed, str):
                plan.skipped.append((finding.location, needed))
            elif needed is not None:
                add(finding.location, needed[0], needed[1], sites[finding.location].dialect, needed[2])
            continue
        if finding.rule in LOOKUP_KEY_RULES:
            needed = _lookup_key(result, finding, idioms)
            if isinstance(needed, str):
                plan.skipped.append((finding.location, needed))
            elif needed is not None:
                add(finding.location, *needed, idioms[finding.location].dialect)
            continue
        if finding.rule != "UPS001":
            continue
        site = sites.get(finding.location)
        conflict = site.statement.conflict if site else None
        table = result.catalog.lookup(site.statement.table) if site else None
        if site is None or conflict is None or table is None:
            continue
        if any(e.is_expression for e in conflict.target):
            plan.skipped.append((finding.location, "the conflict target has an expression: write that unique index by hand"))
            continue
        columns = key_columns(site.statement)
        if not columns:
            plan.skipped.append((finding.location, "the statement updates every column it inserts: name the key columns by hand"))
            continue
        add(finding.location, table, columns, site.dialect)
    plan.keys = list(planned.values())
    return plan


def key_migration(
    catalog: Catalog, table: Table, columns: tuple[str, ...], dialect: str, reasons: tuple[Location, ...],
    newest_by: tuple[str, ...] = ORDER_PREFERENCE, archive: str = "{table}_dedup_archive", nulls: str = "distinct",
) -> KeyMigration | str:
    """Everything the migration adding `columns` as a unique key of `table` needs; or why it
    cannot be generated (then the finding is listed as a manual fix)."""
    if dialect not in (POSTGRES, SQLITE, MYSQL):
        return f"migrations for {dialect} are not generated yet"
    primary = next((k for k in table.keys if k.kind.value == "primary key"), None)
    if primary is not None and len(primary.elements) == 1 and not primary.elements[0].is_expression:
        pk = primary.elements[0].text
    elif dialect == SQLITE:
        pk = "rowid"  # every SQLite table but a WITHOUT ROWID one (which has a primary key) has it
    else:
        return f"{table.name} has no single-column primary key to tell duplicate rows apart"
    children, problem = referencing(catalog, table, pk)
    if problem and dialect != POSTGRES:  # PostgreSQL's migration finds and checks them at run time
        return problem
    return KeyMigration(
        dialect=dialect,
        table=table,
        columns=columns,
        key_name=new_key_name(table.name.name, columns, dialect, {"distinct": "key", "not-distinct": "nnd_key", "partial": "null_key"}[nulls]),
        archive_name=clip_name(archive.replace("{table}", table.name.name), dialect),
        primary_key=pk,
        order_by=tuple(c for c in newest_by if c in table.columns and c != pk) + (pk,),
        nullable_columns=tuple(c for c in columns if (col := table.columns.get(c)) is None or col.nullable),
        reasons=reasons,
        children=children,
        null_handling=nulls,
    )


def referencing(catalog, table: Table, pk: str) -> tuple[tuple[tuple[Table, str], ...], str | None]:
    """Single-column foreign keys onto the primary key; a problem if another kind points here."""
    children = []
    for child in catalog.tables.values():
        for fk in child.foreign_keys:
            if catalog.lookup(fk.references) is not table:
                continue
            if len(fk.columns) != 1 or fk.referenced_columns not in ((), (pk,)):
                return (), f"foreign key {child.name} ({', '.join(fk.columns)}) does not reference {pk} alone: re-point it by hand"
            children.append((child, fk.columns[0]))
    return tuple(children), None
