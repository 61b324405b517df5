"""DDL with parts built at run time, applied when those parts name nothing the catalog keeps.

`f"CREATE TABLE apipayments (amount {db.big_int} NOT NULL, ...)"`, a CHECK listing an
enum's values, `f"CREATE INDEX idx_{col} ON t ({col})"` in a loop: the unknown part is a
column type, a default, a CHECK or a non-unique index, none of which decides a key. Such a
statement is applied; one whose unknown part is a table, a column or a key's name or element
is not (the caller reports it), because a guess there would be a wrong key. A plain index or
an `ALTER TABLE ... ADD` of columns without a key constraint is skipped whatever its holes:
it cannot add a key.
"""

from __future__ import annotations

import copy
from dataclasses import replace

from sqlglot import exp

from auditor.model import Catalog
from auditor.schema.ddl import apply_statement
from auditor.schema.statements import Statement, parse_statement, split_statements
from auditor.sql.holes import HOLE, parseable, shown


def is_plain_index(tree: exp.Expression) -> bool:
    """`CREATE INDEX` without UNIQUE: never a key, whatever it is built from."""
    return isinstance(tree, exp.Create) and (tree.args.get("kind") or "").upper() == "INDEX" and not tree.args.get("unique")


KEY_CONSTRAINTS = (exp.UniqueColumnConstraint, exp.PrimaryKeyColumnConstraint, exp.Reference)


def adds_only_plain_columns(tree: exp.Expression) -> bool:
    """`ALTER TABLE t ADD [COLUMN] c <type>` with no UNIQUE, PRIMARY KEY or REFERENCES: a new
    column is never a key, whatever table, name or type is built at run time (a migration
    helper's `f"ALTER TABLE {table.name} ADD {name} {type}"`)."""
    if not isinstance(tree, exp.Alter) or not tree.args.get("actions"):
        return False
    return all(
        isinstance(action, exp.ColumnDef) and not any(isinstance(c.args.get("kind"), KEY_CONSTRAINTS) for c in action.args.get("constraints") or [])
        for action in tree.args["actions"]
    )


def _names_a_hole(catalog: Catalog) -> bool:
    """Does any name the catalog keeps (table, column, key, key element, foreign key) hold a hole?"""
    for name, table in catalog.tables.items():
        if HOLE in str(name) or any(HOLE in c for c in table.columns):
            return True
        for key in table.keys:
            if HOLE in (key.name or "") or any(HOLE in e.text for e in key.elements) or HOLE in (key.predicate or ""):
                return True
        for fk in table.foreign_keys:
            if HOLE in (fk.name or "") or HOLE in str(fk.references) or any(HOLE in c for c in fk.columns + fk.referenced_columns):
                return True
    return False


def apply_partial_ddl(catalog: Catalog, sql: str, path: str, line: int) -> bool:
    """Apply DDL with holes (auditor.sql.holes) if no hole lands in a name the catalog keeps;
    return False, with the catalog untouched, if one would."""
    statements, error = split_statements(parseable(sql), catalog.dialect)
    if error is not None:
        return False
    trial = Catalog(catalog.dialect, copy.deepcopy(catalog.tables))
    for statement in statements:
        parsed = parse_statement(Statement(statement.text, statement.line + line - 1), catalog.dialect)
        if parsed.tree is None:
            return False
        if is_plain_index(parsed.tree) or adds_only_plain_columns(parsed.tree):
            continue  # nothing the key rules read (a column on a table not known is not worth a guess)
        if any(HOLE in table.sql() for table in parsed.tree.find_all(exp.Table)):
            return False  # which table it changes is not known
        apply_statement(trial, path, parsed)
    if _names_a_hole(trial) or any(HOLE in d.message for d in trial.diagnostics):
        return False
    for table in trial.tables.values():  # a type built at run time is shown as {?}
        table.columns = {n: replace(c, type=shown(c.type)) if HOLE in c.type else c for n, c in table.columns.items()}
    catalog.tables.clear()
    catalog.tables.update(trial.tables)
    catalog.diagnostics.extend(trial.diagnostics)
    return True
