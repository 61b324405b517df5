"""Every schema source of a project, merged into the one catalog the audit sees.

Order and precedence (what the database really has wins):
1. Migrations, each in its own order: SQL files (migration order; a full schema kept
   beside its update scripts is read alone, see auditor.schema.sql_layout), Alembic
   revisions (down_revision graph), Django migrations (dependency graph).
2. DDL embedded in application code (`executescript(SCHEMA)`, `execute("CREATE
   TABLE ...")`), in file order; files a migration reader already read are skipped
   so `op.execute` / `RunSQL` DDL is not applied twice.
3. Models (SQLAlchemy, Django, peewee) for tables no migration defines. Where
   a model describes a table the migrations also create, the migrations' keys
   count, and every key on one side only is a `schema-drift` diagnostic: the
   code expects a key the database does not have (or the reverse).
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from auditor.model import Catalog, Diagnostic
from auditor.schema import read_log
from auditor.schema.compare import key_drift
from auditor.schema.ddl import apply_sql
from auditor.schema.partial_ddl import apply_partial_ddl
from auditor.schema.pysource import relative_path
from auditor.schema.history import apply_with_snapshots, with_tables_from_elsewhere
from auditor.schema.source import SchemaSource, apply_source, catalog_from_source
from auditor.schema.sql_layout import choose_sql_files
from auditor.sites import SqlCall

Reader = Callable[[Path, list[Path], str], SchemaSource]

# (module, function) of each reader, imported only when a project has candidate files.
MIGRATION_READERS = (
    ("auditor.schema.alembic_migrations", "read_alembic_migrations"),
    ("auditor.schema.django_migrations", "read_django_migrations"),
)
MODEL_READERS = (
    ("auditor.schema.sqlalchemy_models", "read_sqlalchemy_models"),
    ("auditor.schema.django_models", "read_django_models"),
    ("auditor.schema.peewee_models", "read_peewee_models"),
)

# A file that mentions none of these defines no schema in Python (plain `in` tests: a
# regex alternation or a case-insensitive regex over every file's bytes cost 10x more).
FRAMEWORK_NAMES = (b"sqlalchemy", b"alembic", b"django", b"peewee")
DDL_SPELLINGS = (b"CREATE TABLE", b"create table", b"CREATE UNIQUE INDEX", b"create unique index", b"ALTER TABLE", b"alter table")
# SQL text that may define keys (the embedded-DDL path); anything else is a write site only.
DDL_HINT = re.compile(r"\b(create\s+(unique\s+)?(table|index)|alter\s+table|drop\s+(table|index))\b", re.I)


@dataclass
class ProjectSchema:
    """The merged catalog, and which files each kind of source read (for changed-files mode)."""

    catalog: Catalog
    migration_files: set[str] = field(default_factory=set)  # any change may affect every table
    model_tables: dict[str, set[str]] = field(default_factory=dict)  # model file -> str(TableName) it describes
    table_names: dict[str, str] = field(default_factory=dict)  # model class / Table variable -> quoted SQL table name
    column_names: dict[str, str] = field(default_factory=dict)  # "Model.field" -> quoted SQL column
    related_names: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # Django reverse accessors
    sources: list[str] = field(default_factory=list)  # kinds of source that contributed
    at_migration: dict[str, Catalog] = field(default_factory=dict)  # the catalog after each migration file that writes (history)
    history_tables: set = field(default_factory=set)  # every table the migration history itself had at some point


def _reader(module: str, function: str) -> Reader | None:
    try:
        return getattr(importlib.import_module(module), function)
    except (ImportError, AttributeError):
        return None  # a reader not shipped in this build


def _run_reader(reader: Reader, root: Path, files: list[Path], dialect: str, kind: str) -> SchemaSource:
    try:
        return reader(root, files, dialect)
    except Exception as error:  # noqa: BLE001 - a reader bug costs that source, not the audit
        source = SchemaSource(kind, is_migration=False)
        source.diagnostics.append(Diagnostic(".", f"{kind} not read: internal error {type(error).__name__}: {error}", None, "internal-error"))
        return source


@dataclass
class PythonSchemaFiles:
    """The Python files worth a schema reader's look, found with one read of each file."""

    framework: list[Path] = field(default_factory=list)  # mention an ORM or migration framework
    ddl: list[Path] = field(default_factory=list)  # hold DDL text (CREATE TABLE ...)


def python_schema_files(files: list[Path], each: Callable[[Path, bytes], None] | None = None) -> PythonSchemaFiles:
    """`each(path, data)`: anything else to learn from the same read of every file."""
    found = PythonSchemaFiles()
    for path in files:
        try:
            data = path.read_bytes()
        except OSError:
            continue
        if each is not None:
            each(path, data)
        if any(name in data for name in FRAMEWORK_NAMES):
            found.framework.append(path)
        if any(spelling in data for spelling in DDL_SPELLINGS):
            found.ddl.append(path)
    return found


def apply_sql_files(catalog: Catalog, files: list[Path], root: Path) -> None:
    for file in files:
        relative = relative_path(file, root)
        try:
            text = read_log.read_bytes(file).decode("utf-8")
        except (OSError, UnicodeDecodeError) as error:
            catalog.diagnostics.append(Diagnostic(relative, f"schema file could not be read: {error}", None, "decode-error"))
            continue
        catalog.sources.append(relative)
        apply_sql(catalog, text, relative)


def apply_embedded_ddl(catalog: Catalog, calls: list[SqlCall], skip_files: set[str]) -> list[str]:
    """Apply DDL found in SQL handed to execute-like calls; return the files it came from."""
    files: list[str] = []
    for call in sorted((c for c in calls if c.sql and DDL_HINT.search(c.sql)), key=lambda c: c.location):
        if call.location.path in skip_files:
            continue
        where = call.origin or call.location
        if call.holes:  # DDL with a part built at run time: read if that part names no key, table or column
            if not apply_partial_ddl(catalog, call.sql, where.path, where.line):
                catalog.diagnostics.append(Diagnostic(where.path, f"DDL not read: part of it is built at run time ({call.holes[0]})", where.line, "schema-source-error"))
                continue
        else:
            apply_sql(catalog, call.sql, where.path, where.line)
        if where.path not in files:
            files.append(where.path)
    catalog.sources.extend(f for f in files if f not in catalog.sources)
    return files


def merge_models(catalog: Catalog, models: Catalog, kind: str) -> None:
    """Add the tables only models define; report drift where migrations define them too."""
    for name, table in models.tables.items():
        existing = catalog.lookup(name)
        if existing is None:
            catalog.tables[name] = table
            continue
        single = Catalog(catalog.dialect, {name: table})
        live = Catalog(catalog.dialect, {existing.name: existing})
        for drift in key_drift(single, live, f"only in the {kind}", "only in the migrations"):
            origin = drift.origin or table.origin
            catalog.diagnostics.append(
                Diagnostic(origin.path, f"{drift.table}: {drift.key} is {drift.where}; the migrations decide what the database has", origin.line, "schema-drift")
            )


@dataclass
class SchemaReading:
    """The schema files read, before the DDL the code runs is applied: the part of a catalog
    that does not need the code's write sites (so it can be read while the code is scanned)."""

    project: ProjectSchema
    dialect: str
    model_sources: list[tuple[SchemaSource, Catalog]]  # each with the tables it describes
    sql_files: list[Path]


def read_schema(
    root: Path, python_files: list[Path], sql_files: list[Path], dialect: str, found: PythonSchemaFiles | None = None,
) -> SchemaReading:
    """SQL files and migrations applied, models read; `found` (from python_schema_files) saves
    a second read of every file."""
    catalog = Catalog(dialect=dialect)
    project = ProjectSchema(catalog)
    sql_files, choices = choose_sql_files(list(sql_files), root, dialect)  # a full schema beside its update scripts
    catalog.diagnostics.extend(choices)
    apply_sql_files(catalog, sql_files, root)
    project.migration_files.update(catalog.sources)
    candidates = (found or python_schema_files(python_files)).framework
    model_sources: list[tuple[SchemaSource, Catalog]] = []
    if candidates:
        for module, function in MIGRATION_READERS:
            reader = _reader(module, function)
            if reader is None:
                continue
            source = _run_reader(reader, root, candidates, dialect, module.rsplit(".", 1)[-1])
            project.at_migration.update(apply_with_snapshots(catalog, source, root))
            project.history_tables |= set(catalog.tables).union(*(at.tables for at in project.at_migration.values()))
            # The models a migration history made, by name (the model readers' own names win).
            project.table_names.update(source.table_names)
            project.column_names.update(source.column_names)
            project.migration_files.update(source.files)
            if source.files:
                project.sources.append(source.kind)
        # Models are read before embedded DDL is applied so a model file's own
        # `execute("CREATE ...")` is not mistaken for a migration of its tables.
        for module, function in MODEL_READERS:
            reader = _reader(module, function)
            if reader is not None:
                source = _run_reader(reader, root, candidates, dialect, module.rsplit(".", 1)[-1])
                model_sources.append((source, catalog_from_source(source, dialect)))
    return SchemaReading(project, dialect, model_sources, sql_files)


def finish_catalog(reading: SchemaReading, sql_calls: list[SqlCall] = ()) -> ProjectSchema:
    """The project's catalog: the reading, plus the DDL its code runs, plus the tables only
    models define. (Once per reading: it completes the reading's catalog in place.)"""
    project, catalog = reading.project, reading.project.catalog
    embedded = apply_embedded_ddl(catalog, list(sql_calls), project.migration_files)
    if embedded:
        project.sources.append("DDL in Python code")
        project.migration_files.update(embedded)
    for source, models in reading.model_sources:
        project.table_names.update(source.table_names)
        project.column_names.update(source.column_names)
        for related, children in source.related_names.items():
            project.related_names.setdefault(related, []).extend(children)
        for name, table in models.tables.items():
            project.model_tables.setdefault(table.origin.path, set()).add(str(name))
        merge_models(catalog, models, source.kind)
        catalog.diagnostics.extend(d for d in models.diagnostics if d not in catalog.diagnostics)
        catalog.sources.extend(f for f in source.files if f not in catalog.sources)
        if source.files:
            project.sources.append(source.kind)
    if reading.sql_files:
        project.sources.insert(0, "SQL files")
    with_tables_from_elsewhere(project.at_migration, catalog, project.history_tables)
    return project


def build_catalog(
    root: Path, python_files: list[Path], sql_files: list[Path], dialect: str,
    sql_calls: list[SqlCall] = (), found: PythonSchemaFiles | None = None,
) -> ProjectSchema:
    """The project's catalog; `found` (from python_schema_files) saves a second read of every file."""
    return finish_catalog(read_schema(root, python_files, sql_files, dialect, found), sql_calls)
