"""From an idiom as the code spells it (IdiomCall) to what it does to one table (IdiomSite).

The Python reader found a guard and an insert in the right places; here their SQL is
read: both must touch the same table, and the insert must write the key the guard
looked up, or the two statements are not one upsert and nothing is reported.
"""

from __future__ import annotations

from auditor.model import Catalog
from auditor.python.neutral_sql import names_models, resolve_models
from auditor.sites import IdiomCall, IdiomKind, IdiomSite, WriteKind
from auditor.sql.lookup import read_lookup
from auditor.sql.statement import parse_write_statements

# One-call idioms: the ORM pairs lookup and insert itself.
SELF_PAIRED = (IdiomKind.GET_OR_CREATE, IdiomKind.SESSION_MERGE)


def _resolved(sql: str | None, table_names: dict[str, str], column_names: dict[str, str]) -> str | None:
    if not names_models(sql):
        return sql
    return resolve_models(sql, table_names, column_names)[0]


def idiom_site(
    call: IdiomCall, dialect: str, catalog: Catalog, table_names: dict[str, str], column_names: dict[str, str]
) -> IdiomSite | None:
    """The idiom's table and key, or None when its statements are unknown, not one upsert,
    or name a table the catalog does not have (the write site itself reports that)."""
    write_sql = _resolved(call.write_sql, table_names, column_names)
    if write_sql is None:
        return None
    statements, _error = parse_write_statements(write_sql, dialect)
    inserts = [s for s in statements if s.kind is WriteKind.INSERT]
    if not inserts:
        return None
    insert = inserts[0]
    table = catalog.lookup(insert.table)
    if table is None:
        return None
    if call.kind is IdiomKind.SESSION_MERGE:
        return IdiomSite(call, dialect, table.name, (), insert)
    guard_sql = _resolved(call.guard_sql, table_names, column_names)
    lookup = read_lookup(guard_sql, dialect) if guard_sql else None
    if lookup is None or catalog.lookup(lookup.table) is not table:
        return None
    if call.kind not in SELF_PAIRED:
        if not lookup.columns or (insert.columns and not set(lookup.columns) <= set(insert.columns)):
            return None  # the insert does not write the key the guard looked up
    return IdiomSite(call, dialect, table.name, lookup.columns, insert, inexact_lookup=lookup.inexact)
