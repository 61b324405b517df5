"""Read tables and keys from a running PostgreSQL (pg_index joined with pg_constraint).

information_schema lists only constraints: it misses partial, expression and
INCLUDE indexes and cannot show NULLS NOT DISTINCT, so we read the catalogs.
Expressions and predicates come back deparsed (`lower((email)::text)`) and are
put through the same canonical form as SQL read from files.
"""

from __future__ import annotations

import sqlglot

from auditor.dialects import POSTGRES
from auditor.model import LIVE_DATABASE, Catalog, Column, ForeignKey, KeyElement, KeyKind, Location, Table, TableName, UniqueKey
from auditor.schema.driver import import_driver
from auditor.sql.normalize import key_element, predicate_text

COLUMNS = """
SELECT n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull,
       pg_get_expr(d.adbin, d.adrelid)
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
WHERE c.relkind IN ('r', 'p') AND n.nspname = ANY(%(schemas)s)
ORDER BY n.nspname, c.relname, a.attnum
"""

KEYS = """
SELECT n.nspname, t.relname, ic.relname AS index_name,
       con.conname, con.contype, coalesce(con.condeferrable, false), coalesce(con.condeferred, false),
       i.indisprimary, i.indisunique, i.indisvalid, {nnd} AS nulls_not_distinct,
       ARRAY(SELECT a.attname::text
               FROM unnest(i.indkey[:i.indnkeyatts - 1]) WITH ORDINALITY k(attnum, ord)
               LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
              ORDER BY ord) AS key_cols,
       ARRAY(SELECT a.attname::text
               FROM unnest(i.indkey[i.indnkeyatts:]) WITH ORDINALITY k(attnum, ord)
               JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
              ORDER BY ord) AS include_cols,
       pg_get_expr(i.indexprs, i.indrelid), pg_get_expr(i.indpred, i.indrelid), NOT i.indimmediate
FROM pg_index i
JOIN pg_class t ON t.oid = i.indrelid
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.contype IN ('p', 'u', 'x')
WHERE n.nspname = ANY(%(schemas)s) AND (i.indisunique OR con.contype = 'x')
ORDER BY n.nspname, t.relname, ic.relname
"""

# Foreign keys declared on the table itself (a partition's copies of its parent's are not).
FOREIGN_KEYS = """
SELECT n.nspname, c.relname, con.conname, rn.nspname, r.relname,
       ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(attnum, ord)
               JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum ORDER BY ord),
       ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(attnum, ord)
               JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum ORDER BY ord)
FROM pg_constraint con
JOIN pg_class c ON c.oid = con.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_class r ON r.oid = con.confrelid
JOIN pg_namespace rn ON rn.oid = r.relnamespace
WHERE con.contype = 'f' AND con.conparentid = 0 AND n.nspname = ANY(%(schemas)s)
ORDER BY n.nspname, c.relname, con.conname
"""

LIVE = Location(LIVE_DATABASE, 0)


def _expressions(text: str | None) -> list[KeyElement]:
    """pg_get_expr(indexprs) is a comma-separated list: parse it as a select list."""
    if not text:
        return []
    select = sqlglot.parse_one(f"SELECT {text}", read="postgres")
    return [key_element(e, POSTGRES) for e in select.expressions]


def _key(row) -> tuple[TableName, UniqueKey]:
    (schema, table, index_name, conname, contype, deferrable, deferred, primary, unique, valid, nnd,
     key_cols, include_cols, exprs, pred, not_immediate) = row
    expressions = iter(_expressions(exprs))
    # A NULL in key_cols marks the position of the next expression.
    elements = tuple(KeyElement.column(c) if c is not None else next(expressions) for c in key_cols)
    kind = {"p": KeyKind.PRIMARY, "u": KeyKind.UNIQUE_CONSTRAINT, "x": KeyKind.EXCLUSION}.get(contype, KeyKind.UNIQUE_INDEX)
    predicate = predicate_text(sqlglot.parse_one(pred, read="postgres"), POSTGRES) if pred else None
    return TableName(schema, table), UniqueKey(
        kind=kind,
        name=conname or index_name,
        elements=elements,
        origin=LIVE,
        include=tuple(include_cols),
        predicate=predicate,
        nulls_not_distinct=bool(nnd),
        deferrable=bool(deferrable or not_immediate),
        initially_deferred=bool(deferred),
        valid=bool(valid),
    )


def introspect_postgres(conninfo: str, schemas: list[str] | None = None) -> Catalog:
    psycopg = import_driver(POSTGRES, conninfo)
    catalog = Catalog(dialect=POSTGRES, sources=[LIVE_DATABASE])
    with psycopg.connect(conninfo) as conn:
        conn.read_only = True  # introspection never writes
        if schemas is None:
            schemas = [r[0] for r in conn.execute(
                "SELECT nspname FROM pg_namespace WHERE nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') "
                "AND nspname NOT LIKE 'pg_temp%%' AND nspname NOT LIKE 'pg_toast_temp%%'"
            )]
        version = conn.info.server_version
        params = {"schemas": schemas}
        for schema, table, column, type_, nullable, default in conn.execute(COLUMNS, params):
            name = TableName(schema, table)
            record = catalog.tables.setdefault(name, Table(name, LIVE))
            record.columns[column] = Column(column, type_, nullable, LIVE, default)
        nnd = "i.indnullsnotdistinct" if version >= 150000 else "false"
        for row in conn.execute(KEYS.format(nnd=nnd), params):
            name, key = _key(row)
            catalog.tables[name].keys.append(key)
        for schema, table, name, referenced_schema, referenced, columns, referenced_columns in conn.execute(FOREIGN_KEYS, params):
            catalog.tables[TableName(schema, table)].foreign_keys.append(
                ForeignKey(tuple(columns), TableName(referenced_schema, referenced), tuple(referenced_columns), LIVE, name)
            )
    return catalog
