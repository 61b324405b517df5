"""From an idiom as the code spells it (IdiomCall) to what it does to one table (IdiomSite).

The Python reader found a guard and an insert in the right places; here their SQL is
read: both must touch the same table, and the insert (for a check-then-update, the UPDATE's
SET list) must write the key the guard looked up, or the two statements are not one upsert
and nothing is reported.
"""

from __future__ import annotations

from auditor.model import Catalog
from auditor.python.neutral_sql import RELATED, names_models, resolve_models
from auditor.sites import IdiomCall, IdiomKind, IdiomSite, IdiomUnchecked, WriteKind
from auditor.sql.lookup import read_lookup
from auditor.sql.statement import parse_write_statements

# One-call idioms: the ORM pairs lookup and insert itself.
SELF_PAIRED = (IdiomKind.GET_OR_CREATE, IdiomKind.SESSION_MERGE)


def _resolved(sql: str | None, table_names: dict[str, str], column_names: dict[str, str], dialect: str) -> tuple[str | None, str | None]:
    """The SQL with model placeholders replaced by tables and columns, or (None, why not)."""
    if sql is None or not names_models(sql):
        return sql, None
    return resolve_models(sql, table_names, column_names, dialect)


def _unknown_accessor(why: str | None) -> bool:
    """`x.items.filter(...)` where no model has the reverse accessor `items`: most likely not
    a queryset at all, so not an idiom to count as unchecked."""
    return bool(why) and f"model {RELATED}" in why


def idiom_site(
    call: IdiomCall, dialect: str, catalog: Catalog, table_names: dict[str, str], column_names: dict[str, str]
) -> IdiomSite | IdiomUnchecked:
    """The idiom's table and key; or why no rule can judge it: its statements are unknown,
    name a table the catalog does not have, or are not one upsert after all."""
    write_sql, why = _resolved(call.write_sql, table_names, column_names, dialect)
    if write_sql is None:
        return IdiomUnchecked(call, why or "the insert's SQL was built at run time", upsert=not _unknown_accessor(why))
    statements, error = parse_write_statements(write_sql, dialect)
    if error is not None:
        return IdiomUnchecked(call, f"the insert's SQL could not be parsed ({error})")
    written = WriteKind.UPDATE if call.kind is IdiomKind.CHECK_THEN_UPDATE else WriteKind.INSERT
    inserts = [s for s in statements if s.kind is written]
    if not inserts:
        return IdiomUnchecked(call, f"the write is not an {written.name}", upsert=False)
    insert = inserts[0]
    table = catalog.lookup(insert.table)
    if table is None:
        return IdiomUnchecked(call, f"table {insert.table} is not in the schema")
    if call.kind is IdiomKind.SESSION_MERGE:
        return IdiomSite(call, dialect, table.name, (), insert)
    guard_sql, why = _resolved(call.guard_sql, table_names, column_names, dialect)
    lookup = read_lookup(guard_sql, dialect) if guard_sql else None
    if lookup is None:
        return IdiomUnchecked(call, why or "the lookup's SQL was not read", upsert=not _unknown_accessor(why))
    if catalog.lookup(lookup.table) is not table:
        return IdiomUnchecked(call, "the lookup reads another table than the insert writes", upsert=False)
    if call.kind not in SELF_PAIRED:
        if not lookup.columns or (insert.columns and not set(lookup.columns) <= set(insert.columns)):
            return IdiomUnchecked(call, f"the {written.name.lower()} does not write the key the lookup matched", upsert=False)
    return IdiomSite(call, dialect, table.name, lookup.columns, insert, inexact_lookup=lookup.inexact, case_folded=lookup.case_folded)
