"""The SQL the Python readers write for writes that code does not spell as SQL.

ORM calls, structured sinks and `upsert_record()` calls are written as the statement they
perform, in one neutral form, so the same SQL parser and rules check them:

    Avatar.objects.create(user=u)   INSERT INTO "<model:Avatar>" ("<field:Avatar.user>") VALUES (?)
    simple_upsert("t", {"k": k}, {"v": v})
                                    INSERT INTO t (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v

A model is named by placeholder: which table (and which column a field) it stands for,
the schema readers know, and `resolve_models` fills them in; `orm_dialects` then turns
the neutral form into what the ORM emits on the site's database.
"""

from __future__ import annotations

import re
from typing import Sequence

from auditor.dialects import MYSQL

MODEL_PLACEHOLDER = re.compile(r'"<(?P<kind>model|field|values):(?P<name>~?[A-Za-z_][\w.~:]*)>"')
# A Django reverse accessor (`basket.items.get_or_create(sku=s)`) is written as the model
# `~items` with the field `~fk`, its relation to the parent: `related_models` says which
# model and column they are, where exactly one model of the project has that accessor.
RELATED, PARENT_FIELD = "~", "~fk"
# Other names a model is reached by, resolved the same way (the schema readers list them
# with the reverse accessors): `self` in a custom manager or queryset class is the manager of
# the model that places it (`objects = ThatManager()`), `~manager:ThatManager`; and
# `Model.get_or_create(...)` called on the class is peewee's only on a peewee model,
# `~peewee:Model` (anywhere else the class method is the project's own).
MANAGER, PEEWEE_CLASS = "manager:", "peewee:"
# `obj.tags.append(tag)` on a SQLAlchemy relationship with a `secondary` table inserts a row of
# that association table: the model `~collection:tags`, whose fields are `~fk` (the owner's
# foreign key) and `~item` (the appended object's).
COLLECTION, COLLECTION_ITEM = "collection:", "~item"
# `"<values:Model>"` stands for the row an ORM bulk insert writes when the code does not say
# which fields: every column but a generated primary key (the schema readers list them under
# "Model.*"), as `(a, b) VALUES (?, ?)`; DEFAULT VALUES when the reader does not know them.
WRITABLE = "*"


def model_table(model: str) -> str:
    return f'"<model:{model}>"'


def model_field(model: str, field: str) -> str:
    return f'"<field:{model}.{field}>"'


def model_values(model: str) -> str:
    return f'"<values:{model}>"'


def writable_key(model: str) -> str:
    """Where the schema readers list the columns `model_values(model)` stands for."""
    return f"{model}.{WRITABLE}"


def manager_model(manager_class: str) -> str:
    return f"{RELATED}{MANAGER}{manager_class}"


def collection_model(attribute: str) -> str:
    return f"{RELATED}{COLLECTION}{attribute}"


def peewee_class_model(model: str) -> str:
    return f"{RELATED}{PEEWEE_CLASS}{model}"


def names_models(sql: str | None) -> bool:
    return sql is not None and "<model:" in sql


def insert_sql(table: str, columns: Sequence[str], verb: str = "INSERT INTO") -> str:
    """`INSERT INTO t (a, b) VALUES (?, ?)`, or `... DEFAULT VALUES` when no column is named."""
    if not columns:
        return f"{verb} {table} DEFAULT VALUES"
    return f"{verb} {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"


def on_conflict_sql(target: str, update: Sequence[str]) -> str:
    """` ON CONFLICT <target> DO UPDATE SET c = EXCLUDED.c, ...`, DO NOTHING when nothing is
    updated; `target` is `(a, b)`, `(a) WHERE p`, `ON CONSTRAINT name` or empty."""
    head = conflict_head(target)
    if not update:
        return f"{head} DO NOTHING"
    return f"{head} DO UPDATE SET " + ", ".join(f"{c} = EXCLUDED.{c}" for c in update)


def conflict_head(target: str) -> str:
    """` ON CONFLICT <target>`, or ` ON CONFLICT` without one."""
    return f" ON CONFLICT {target}" if target else " ON CONFLICT"


def column_list(columns: Sequence[str]) -> str:
    return f"({', '.join(columns)})"


def resolve_models(sql: str, tables: dict[str, str], columns: dict[str, str] | None = None, dialect: str | None = None) -> tuple[str | None, str | None]:
    """Fill in the model (table) and field (column) placeholders; (sql, None), or (None, why)
    if a model is unknown. A field the reader does not know is taken as its own column, quoted
    as the dialect quotes names (on MySQL "name" would be a string)."""
    columns = columns or {}
    quote = "`" if dialect == MYSQL else '"'
    missing = [m["name"] for m in MODEL_PLACEHOLDER.finditer(sql) if m["kind"] == "model" and m["name"] not in tables]
    if missing:
        return None, f"model {missing[0]} is not among the project's models"
    # `pk` is whatever column is the model's one-column primary key: never a column of that name
    unknown_keys = [m["name"] for m in MODEL_PLACEHOLDER.finditer(sql) if m["kind"] == "field" and m["name"].endswith(".pk") and m["name"] not in columns]
    if unknown_keys:
        return None, f"the primary key of {unknown_keys[0][:-3]} is not known (none, or of several columns)"

    def name(match) -> str:
        if match["kind"] == "model":
            return tables[match["name"]]
        if match["kind"] == "values":
            written = columns.get(writable_key(match["name"]))
            return f"({written}) VALUES ({', '.join('?' for _ in written.split(', '))})" if written else "DEFAULT VALUES"
        return columns.get(match["name"], quote + match["name"].split(".")[-1] + quote)

    return MODEL_PLACEHOLDER.sub(name, sql), None


def related_models(
    tables: dict[str, str], columns: dict[str, str], related: dict[str, list[tuple[str, str]]]
) -> tuple[dict[str, str], dict[str, str]]:
    """The model maps with each unambiguous reverse accessor (or manager class, or peewee
    model's class) added as a model of its own."""
    tables, columns = dict(tables), dict(columns)
    by_model: dict[str, list[tuple[str, str]]] = {}  # model -> (field, column), read once
    for key, column in columns.items():
        model, _, name = key.rpartition(".")
        by_model.setdefault(model, []).append((name, column))
    for name, children in related.items():
        if len(children) != 1 or children[0][0] not in tables:
            continue  # two models with one accessor name: which one a call writes is not known
        child, relation = children[0]
        tables[RELATED + name] = tables[child]
        for field_name, column in by_model.get(child, ()):
            columns[f"{RELATED}{name}.{field_name}"] = column
        if f"{child}.{relation}" in columns:
            columns[f"{RELATED}{name}.{PARENT_FIELD}"] = columns[f"{child}.{relation}"]
    return tables, columns
