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
from auditor.migrate.render import context, down_sql, environment
from auditor.schema.django_apps import AppLabels
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


class DjangoProject:
    """The project's migration state, replayed once: which model owns a table, and where the
    next migration of each app goes (advanced as migrations are generated, so two keys in
    one app chain up even in a dry run)."""

    def __init__(self, root: Path, files: list[str], dialect: str):
        migrations: list[Migration] = []
        labels = AppLabels()
        for relative in files:
            module, _ = parse_module(root / relative, root)
            migration = read_migration(module, labels) if module else None
            if migration:
                migrations.append(migration)
        ordered, _ = order_migrations(migrations)
        replayer = Replayer(SchemaSource("django migrations", True), dialect)
        for migration in ordered:
            replayer.replay(migration)
        self.models = list(replayer.models.values())
        self.next: dict[str, tuple[Path, str, int]] = {}  # app -> (folder, leaf migration, next number)
        for migration in ordered:
            number = int(migration.name[:4]) if migration.name[:4].isdigit() else 0
            folder = (root / migration.module.relative).parent
            previous = self.next.get(migration.app, (folder, "", 0))[2]
            self.next[migration.app] = (folder, migration.name, max(previous, number + 1))

    def target(self, table: str) -> DjangoTarget | None:
        model = next((m for m in self.models if m.table == table), None)
        if model is None or model.app not in self.next:
            return None
        folder, parent, number = self.next[model.app]
        return DjangoTarget(folder, model.app, parent, model, number)

    def generated(self, target: DjangoTarget, name: str) -> None:
        """The next migration of that app depends on the one just generated."""
        self.next[target.app] = (target.folder, name, target.number + 1)


def render_django(m: KeyMigration, target: DjangoTarget) -> str:
    in_transaction, autocommit, after = recipe_steps(m)
    if autocommit:  # PostgreSQL: atomic = False, so the dedupe step carries its own transaction
        in_transaction = ["BEGIN;\n" + ";\n".join(in_transaction) + ";\nCOMMIT"]
    names = context(m)
    fields = [next((f.name for f in target.model.fields.values() if f.column == c), c) for c in m.columns]
    down = down_sql(m)
    database_steps = in_transaction + autocommit
    final_steps = after or [database_steps.pop()]
    return environment().get_template("django.py.j2").render(
        version=__version__, table=str(m.table.name), columns=m.columns, reasons=[f"{r.path}:{r.line}" for r in m.reasons],
        archive=m.archive_name, concurrently=bool(autocommit), app=target.app, parent=target.parent,
        model=target.model.name.lower(), fields=fields, key=m.key_name, database_steps=database_steps,
        final_steps=final_steps, down=down,
    )
