"""`upsert-audit migrate`: write the migrations that add the unique keys findings need.

plan.py decides which keys (and how to keep the right rows), render.py turns each into
the project's migration format from templates/migrations/, sql_files.py names and
writes the files. Formats: SQL files (PostgreSQL, SQLite, MariaDB recipes) and Alembic
revisions (alembic_format.py); the default is what the project already uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from auditor.engine import AuditResult
from auditor.migrate.plan import KeyMigration, plan_migrations
from auditor.migrate.render import render_sql
from auditor.migrate.sql_files import migrations_folder, write_new_file
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


def remove_stale_temporaries(folder: Path) -> None:
    """A run killed mid-write leaves only a hidden temporary file (never a half migration)."""
    for stale in folder.glob(".*.upsert-audit-tmp") if folder.is_dir() else ():
        stale.unlink(missing_ok=True)


def generate(result: AuditResult, output: Path | None = None, write: bool = True, format: str | None = None) -> MigrateReport:
    plan = plan_migrations(result)
    report = MigrateReport(skipped=plan.skipped)
    chosen = format or default_format(result)
    if chosen == "alembic":
        return generate_alembic(result, plan.keys, report, output, write)
    if chosen == "django":
        return generate_django(result, plan.keys, report, output, write)
    folder = migrations_folder(result.config.root, [s for s in result.catalog.sources if s.endswith(".sql")], output)
    if write:
        remove_stale_temporaries(folder.path)
    for key in plan.keys:
        existing = folder.existing(key.slug)
        if existing:
            report.migrations.append(GeneratedMigration(key, folder.path / existing, "", already_there=True))
            continue
        path = folder.path / folder.next_name(key.slug)
        text = render_sql(key)
        if write:
            write_new_file(path, text)
        folder = migrations_folder(result.config.root, [], folder.path) if write else folder
        report.migrations.append(GeneratedMigration(key, path, text))
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
        existing = next((p for p in sorted(folder.glob(f"*_{key.slug}.py"))), None)
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
    from auditor.migrate.django_format import django_target, render_django

    root = result.config.root
    sources = [s for s in result.catalog.sources if s.endswith(".py")]
    for key in keys:
        target = django_target(root, sources, key.dialect, key.table.name.name)
        if target is None:
            report.skipped.append((key.reasons[0], f"no Django model owns {key.table.name}: use --format sql"))
            continue
        folder = output or target.folder
        existing = next(iter(sorted(folder.glob(f"*_{key.slug}.py"))), None)
        if existing:
            report.migrations.append(GeneratedMigration(key, existing, "", already_there=True))
            continue
        path = folder / f"{target.number:04d}_{key.slug}.py"
        text = render_django(key, target)
        if write:
            write_new_file(path, text)
            sources.append(path.relative_to(root).as_posix())  # the next key depends on this one
        report.migrations.append(GeneratedMigration(key, path, text))
    return report
