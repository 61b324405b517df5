"""`upsert-audit migrate`: write the migrations that add the unique keys findings need.

plan.py decides which keys (and how to keep the right rows), render.py turns each into
the project's migration format from templates/migrations/, sql_files.py names and
writes the files. Formats: SQL files (PostgreSQL, SQLite, MariaDB recipes), Alembic
revisions (alembic_format.py) and Django migrations (django_format.py); the default is what
the project already uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from auditor.engine import AuditResult
from auditor.migrate.plan import KeyMigration, plan_migrations
from auditor.migrate.render import render_sql
from auditor.migrate.sql_files import existing_migration, migrations_folder, remove_stale_temporaries, write_new_file
from auditor.model import Location


@dataclass
class GeneratedMigration:
    key: KeyMigration
    path: Path
    text: str
    already_there: bool = False


@dataclass
class MigrateReport:
    migrations: list[GeneratedMigration] = field(default_factory=list)
    skipped: list[tuple[Location, str]] = field(default_factory=list)


def default_format(result: AuditResult) -> str:
    if "alembic migrations" in result.schema_sources:
        return "alembic"
    return "django" if "django migrations" in result.schema_sources else "sql"


def unknown_layout(result: AuditResult) -> str:
    """Why no migrations folder can be chosen, and what to give instead: an invented
    top-level `migrations/` would be a layout the project's tooling never runs."""
    read = ", ".join(result.schema_sources) or "no schema source"
    why = f"the schema was read from {read}, and no SQL migration file or migration history the audit could replay"
    if "django models" in result.schema_sources:
        why = ("the schema was read from Django models, but their migrations were not replayed "
               "(none found, or they could not be read: `upsert-audit check` lists why)")
    return (f"cannot tell where this project keeps its migrations: {why}. "
            "Say which format and folder to write: --format sql|alembic|django -o DIR "
            "(e.g. `upsert-audit migrate --format sql -o db/migrations`)")


def generate(result: AuditResult, output: Path | None = None, write: bool = True, format: str | None = None) -> MigrateReport:
    plan = plan_migrations(result)
    report = MigrateReport(skipped=plan.skipped)
    generator = {"alembic": generate_alembic, "django": generate_django}.get(format or default_format(result), generate_sql)
    generator(result, plan.keys, report, output, write)
    if write:
        for folder in {m.path.parent for m in report.migrations}:
            remove_stale_temporaries(folder)
    return report


def generate_sql(result: AuditResult, keys: list[KeyMigration], report: MigrateReport, output: Path | None, write: bool) -> MigrateReport:
    if not keys:
        return report
    sql_files = [s for s in result.catalog.sources if s.endswith(".sql")]
    if output is None and not sql_files:
        raise ValueError(unknown_layout(result))
    folder = migrations_folder(result.config.root, sql_files, output)
    for key in keys:
        existing = folder.existing(key.slug)
        if existing:
            report.migrations.append(GeneratedMigration(key, folder.path / existing, "", already_there=True))
            continue
        name = folder.next_name(key.slug)
        text = render_sql(key)
        if write:
            write_new_file(folder.path / name, text)
        folder = folder.with_file(name)
        report.migrations.append(GeneratedMigration(key, folder.path / name, text))
    return report


def generate_alembic(result: AuditResult, keys: list[KeyMigration], report: MigrateReport, output: Path | None, write: bool) -> MigrateReport:
    from auditor.migrate.alembic_format import alembic_target, render_alembic

    root = result.config.root
    target = alembic_target(root, [s for s in result.catalog.sources if s.endswith(".py")])
    if target is None:
        raise ValueError("--format alembic: no Alembic revision found in the project")
    folder, head = target
    folder = output or folder
    for key in keys:
        existing = existing_migration(folder, key.slug, ".py")
        if existing:
            report.migrations.append(GeneratedMigration(key, existing, "", already_there=True))
            continue
        text = render_alembic(key, head)
        revision = text.split('revision = "', 1)[1].split('"', 1)[0]
        path = folder / f"{revision}_{key.slug}.py"
        if write:
            write_new_file(path, text)
        report.migrations.append(GeneratedMigration(key, path, text))
        head = revision  # the next key's revision follows this one
    return report


def generate_django(result: AuditResult, keys: list[KeyMigration], report: MigrateReport, output: Path | None, write: bool) -> MigrateReport:
    from auditor.migrate.django_format import DjangoProject, render_django

    project = None
    for key in keys:
        project = project or DjangoProject(result.config.root, [s for s in result.catalog.sources if s.endswith(".py")], key.dialect)
        target = project.target(key.table.name.name)
        if target is None:
            report.skipped.append((key.reasons[0], f"no Django model owns {key.table.name}: use --format sql"))
            continue
        folder = output or target.folder
        existing = existing_migration(folder, key.slug, ".py")
        if existing:
            report.migrations.append(GeneratedMigration(key, existing, "", already_there=True))
            continue
        path = folder / f"{target.number:04d}_{key.slug}.py"
        text = render_django(key, target)
        if write:
            write_new_file(path, text)
        project.generated(target, path.stem)
        report.migrations.append(GeneratedMigration(key, path, text))
    return report
