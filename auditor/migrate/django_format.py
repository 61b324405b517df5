"""A key migration as a Django migration in the app that owns the table: the SQL recipe as
RunSQL steps (the dedupe in one transaction of its own, the concurrent build outside any),
and the key added to the migration state with SeparateDatabaseAndState, so that Django's
model state and the database agree."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from auditor import __version__
from auditor.migrate.alembic_format import recipe_steps
from auditor.migrate.plan import KeyMigration
from auditor.migrate.render import context, environment
from auditor.schema.django_migrations import Migration, Replayer, order_migrations, read_migration
from auditor.schema.django_state import ModelState
from auditor.schema.pysource import parse_module
from auditor.schema.source import SchemaSource


@dataclass(frozen=True)
class DjangoTarget:
    folder: Path  # the app's migrations/ folder
    app: str
    parent: str  # the app's leaf migration, the new one's dependency
    model: ModelState
    number: int  # of the new migration


def django_target(root: Path, files: list[str], dialect: str, table: str) -> DjangoTarget | None:
    """Replay the project's migrations to find the model that owns `table` and its app's leaf."""
    migrations: list[Migration] = []
    for relative in files:
        module, _ = parse_module(root / relative, root)
        migration = read_migration(module) if module else None
        if migration:
            migrations.append(migration)
    ordered, _ = order_migrations(migrations)
    replayer = Replayer(SchemaSource("django migrations", True), dialect)
    for migration in ordered:
        replayer.replay(migration)
    model = next((m for m in replayer.models.values() if m.table == table), None)
    if model is None:
        return None
    app_migrations = [m for m in ordered if m.app == model.app]
    leaf = app_migrations[-1]
    number = max(int(m.name[:4]) for m in app_migrations if m.name[:4].isdigit()) + 1
    return DjangoTarget((root / leaf.module.relative).parent, model.app, leaf.name, model, number)


def render_django(m: KeyMigration, target: DjangoTarget) -> str:
    in_transaction, autocommit, after = recipe_steps(m)
    if autocommit:  # PostgreSQL: atomic = False, so the dedupe step carries its own transaction
        in_transaction = ["BEGIN;\n" + ";\n".join(in_transaction) + ";\nCOMMIT"]
    names = context(m)
    fields = [next((f.name for f in target.model.fields.values() if f.column == c), c) for c in m.columns]
    down = f"ALTER TABLE {names['table_sql']} DROP CONSTRAINT IF EXISTS {names['key_sql']}" if m.dialect == "postgres" else f"DROP INDEX IF EXISTS {names['key_sql']}"
    database_steps = in_transaction + autocommit
    final_steps = after or [database_steps.pop()]
    return environment().get_template("django.py.j2").render(
        version=__version__, table=str(m.table.name), columns=m.columns, reasons=[f"{r.path}:{r.line}" for r in m.reasons],
        archive=m.archive_name, concurrently=bool(autocommit), app=target.app, parent=target.parent,
        model=target.model.name.lower(), fields=fields, key=m.key_name, database_steps=database_steps,
        final_steps=final_steps, down=down,
    )
