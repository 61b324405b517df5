"""Which columns of a table the fields of an ORM lookup are (`get_or_create(account=a)`)."""

from __future__ import annotations


def lookup_columns(fields: tuple[str, ...], table) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(the table's columns the lookup pins, the fields the table has no column for). A field
    the model reader did not know is taken as its own name; a relation it missed (a project's
    own ForeignKeyField subclass) is stored as `<field>_id`, as Django and peewee name it."""
    if not table.columns:
        return fields, ()
    known, unknown = [], []
    for field in fields:
        column = field if field in table.columns else f"{field}_id" if f"{field}_id" in table.columns else None
        (known if column is not None else unknown).append(column or field)
    return tuple(dict.fromkeys(known)), tuple(unknown)
