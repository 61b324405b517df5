"""`upsert-audit migrate`: write the migrations that add the unique keys findings need.

plan.py decides which keys (and how to keep the right rows), render.py turns each into
the project's migration format from templates/migrations/, sql_files.py names and
writes the files. Only the SQL format for PostgreSQL exists so far.
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


def generate(result: AuditResult, output: Path | None = None, write: bool = True) -> MigrateReport:
    plan = plan_migrations(result)
    report = MigrateReport(skipped=plan.skipped)
    folder = migrations_folder(result.config.root, [s for s in result.catalog.sources if s.endswith(".sql")], output)
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
