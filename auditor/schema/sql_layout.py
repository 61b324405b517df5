"""One catalog from a project that keeps both a full schema and the update scripts that led to it.

Many projects ship the current schema whole (`base.sql`, `schema.sql`, `create_tables.sql`,
`create_indexes.sql`) for new installs, and incremental scripts (`migrations.sql`,
`updates/2021-03-01.sql`, `migrations/0042_x.sql`) for upgrading old ones. Applying the
updates on top of the full schema replays history onto a database that already has its
end: a constraint appears twice, a dropped table is "unknown".

The rule: when SQL files of both kinds are present, and what the update scripts add and keep
(tables, columns, renamed columns, named keys and unique indexes that are still there after
the last update) is for the most part already in the full schema, the full schema is the current one and the update scripts are not applied; a
`schema-choice` diagnostic names them. When the updates mostly add what the full schema lacks,
the full schema is a starting point and both are applied in order, as before.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

from sqlglot import exp

from auditor.model import Catalog, Diagnostic
from auditor.schema import read_log
from auditor.schema.ddl import apply_sql, table_name
from auditor.schema.discover import version_key
from auditor.schema.pysource import relative_path
from auditor.schema.statements import parse_statement, split_statements
from auditor.sql.normalize import identifier_name

FULL = re.compile(r"(^|[_\-.])(base|schema|create_tables|create_indexes|tables|indexes|structure|install)([_\-.]|$)", re.I)
UPDATE = re.compile(r"(migration|update|upgrade|patch)", re.I)
UPDATE_FOLDERS = {"updates", "update", "migrations", "migration", "upgrades", "upgrade", "patches"}


def is_update(path: Path, root: Path) -> bool:
    relative = Path(relative_path(path, root))
    return version_key(path.name)[0] == 0 or bool(UPDATE.search(path.stem)) or any(p.lower() in UPDATE_FOLDERS for p in relative.parts[:-1])


def is_full_schema(path: Path, root: Path) -> bool:
    return bool(FULL.search(path.stem)) and version_key(path.name)[0] == 1 and not UPDATE.search(path.stem)


def _introduced(tree: exp.Expression, dialect: str) -> list[tuple[exp.Table, str, str | None]]:
    """What a statement adds: (table, "table" | "column" | "key", name)."""
    found = []
    if isinstance(tree, exp.Create):
        kind = (tree.args.get("kind") or "").upper()
        target = tree.this.this if isinstance(tree.this, exp.Schema) else tree.this
        if kind == "TABLE" and isinstance(target, exp.Table):
            found.append((target, "table", None))
        elif kind == "INDEX" and tree.args.get("unique") and isinstance(target, exp.Index) and isinstance(target.args.get("table"), exp.Table):
            found.append((target.args["table"], "key", identifier_name(target.this, dialect)))
    elif isinstance(tree, exp.Alter) and isinstance(tree.this, exp.Table):
        for action in tree.args.get("actions") or []:
            if isinstance(action, exp.ColumnDef):  # ADD COLUMN (MODIFY changes a column that was there)
                found.append((tree.this, "column", identifier_name(action.this, dialect)))
            elif isinstance(action, exp.RenameColumn):
                found.append((tree.this, "column", identifier_name(action.args.get("to"), dialect)))
            elif isinstance(action, exp.AddConstraint):
                for constraint in action.expressions:
                    if isinstance(constraint, exp.Constraint) and constraint.this is not None:
                        found.append((tree.this, "key", identifier_name(constraint.this, dialect)))
    return found


def _already_there(catalog: Catalog, table: exp.Table, what: str, name: str | None) -> bool:
    found = catalog.lookup(table_name(table, catalog.dialect))
    if found is None or what == "table":
        return found is not None
    if what == "column":
        return name in found.columns
    return any(k.name == name for k in found.keys)


def cumulative(full: Catalog, updates: list[tuple[str, str]]) -> tuple[int, int]:
    """(added things the full schema already has, added things it lacks), counting only what
    the updates add and keep: a column a later update drops again says nothing either way."""
    replayed = Catalog(full.dialect, copy.deepcopy(full.tables))
    introduced = []
    for text, path in updates:
        statements, error = split_statements(text, full.dialect)
        for statement in statements if error is None else []:
            tree = parse_statement(statement, full.dialect).tree
            introduced += _introduced(tree, full.dialect) if tree is not None else []
        apply_sql(replayed, text, path)
    present = absent = 0
    for table, what, name in introduced:
        if not _already_there(replayed, table, what, name):
            continue  # added, then dropped or renamed again by a later update
        if _already_there(full, table, what, name):
            present += 1
        else:
            absent += 1
    return present, absent


def choose_sql_files(files: list[Path], root: Path, dialect: str) -> tuple[list[Path], list[Diagnostic]]:
    """The SQL files to apply, in order: all of them, or without the update scripts of a
    cumulative full schema (see the module doc)."""
    from auditor.schema.sources import apply_sql_files

    full = [f for f in files if is_full_schema(f, root)]
    updates = [f for f in files if f not in full and is_update(f, root)]
    if not full or not updates:
        return files, []
    catalog = Catalog(dialect=dialect)
    apply_sql_files(catalog, full, root)
    texts = []
    for path in updates:
        try:
            texts.append((read_log.read_bytes(path).decode("utf-8"), relative_path(path, root)))
        except (OSError, UnicodeDecodeError):
            continue  # reported when (if) it is applied
    present, absent = cumulative(catalog, texts)
    if present <= absent:
        return files, []
    names = [relative_path(f, root) for f in full]
    skipped = [relative_path(f, root) for f in updates]
    message = (
        f"{', '.join(names)} is the full current schema: {present} of the {present + absent} tables, columns and keys "
        f"the update scripts add are already in it, so the updates ({', '.join(skipped[:5])}{', ...' if len(skipped) > 5 else ''}) "
        "are not applied on top of it"
    )
    return [f for f in files if f not in updates], [Diagnostic(skipped[0], message, None, "schema-choice")]
