"""A KeyMigration as the text of a migration file, from the Jinja2 templates in templates/migrations/."""

from __future__ import annotations

from functools import lru_cache

import jinja2

from auditor import __version__
from auditor.migrate.plan import KeyMigration
from auditor.resources import templates_dir
from auditor.schema.source import quote, quote_table


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    # SQL, not HTML: nothing to escape; every identifier is quoted before it reaches a template.
    return jinja2.Environment(loader=jinja2.FileSystemLoader(templates_dir() / "migrations"), keep_trailing_newline=True,
                              autoescape=False, undefined=jinja2.StrictUndefined)


def sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def context(m: KeyMigration) -> dict:
    """Every name the templates need, quoted for the dialect."""
    d = m.dialect
    schema = m.table.name.schema if d == "postgres" else None  # SQLite's "main" needs no qualifier
    table_sql = quote_table(m.table.name.name, schema, d)
    return {
        "version": __version__,
        "table": str(m.table.name),
        "columns": m.columns,
        "reasons": [f"{r.path}:{r.line}" for r in m.reasons],
        "order_by": m.order_by,
        "archive": m.archive_name,
        "pk": m.primary_key,
        "nullable": m.nullable_columns,
        "key": m.key_name,
        "table_sql": table_sql,
        "archive_sql": quote_table(m.archive_name, schema, d),
        "pk_sql": m.primary_key if m.primary_key == "rowid" else quote(m.primary_key, d),
        "kept_sql": quote(f"dedup_kept_{m.primary_key}", d),
        "columns_sql": [quote(c, d) for c in m.columns],
        "order_sql": [quote(c, d) for c in m.order_by],
        "key_sql": quote(m.key_name, d),
        "key_qualified_sql": quote_table(m.key_name, schema, d),
        "regclass": sql_string(table_sql),
        "key_literal": sql_string(quote_table(m.key_name, schema, d)),
        "pk_literal": sql_string(m.primary_key),
        "key_name_literal": sql_string(m.key_name),
        "children": [(quote(child.name.name, d), quote(column, d)) for child, column in m.children],
        "null_handling": m.null_handling,
        # Which rows can be duplicates of each other, grouped by which columns, and the index
        # that stops them: NULLs are distinct by default, equal under NULLS NOT DISTINCT, and
        # the partial index covers only the rows whose nullable columns are NULL.
        "dedupe_where": _dedupe_where(m),
        "partition_sql": [quote(c, d) for c in m.index_columns],
        "index_columns_sql": [quote(c, d) for c in m.index_columns],
        "index_suffix": _index_suffix(m),
    }


def _dedupe_where(m: KeyMigration) -> str:
    d = m.dialect
    if m.null_handling == "not-distinct":
        return "TRUE"
    if m.null_handling == "partial":
        return " AND ".join(f"{quote(c, d)} IS NULL" for c in m.nullable_columns)
    return " AND ".join(f"{quote(c, d)} IS NOT NULL" for c in m.columns)


def _index_suffix(m: KeyMigration) -> str:
    if m.null_handling == "not-distinct":
        return " NULLS NOT DISTINCT"
    if m.null_handling == "partial":
        return " WHERE " + " AND ".join(f"{quote(c, m.dialect)} IS NULL" for c in m.nullable_columns)
    return ""


def down_sql(m: KeyMigration) -> str:
    """The statement that removes the key again, in the dialect's own words."""
    names = context(m)
    if m.dialect == "postgres":
        return f"ALTER TABLE {names['table_sql']} DROP CONSTRAINT IF EXISTS {names['key_sql']}"
    if m.dialect == "mysql":
        # InnoDB silently dropped the index it made for a foreign key on these columns when the
        # unique one arrived, and refuses to drop the unique one now (1553): put a plain index
        # back in the same statement.
        plain = quote(m.key_name[:58] + "_plain", m.dialect)
        return f"ALTER TABLE {names['table_sql']} ADD INDEX {plain} ({', '.join(names['columns_sql'])}), DROP INDEX {names['key_sql']}"
    return f"DROP INDEX IF EXISTS {names['key_sql']}"


def render_sql(m: KeyMigration) -> str:
    return environment().get_template(f"{m.dialect}.sql.j2").render(**context(m), down=down_sql(m))
