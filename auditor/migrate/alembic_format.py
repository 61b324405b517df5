"""A key migration as an Alembic revision: the SQL recipe's statements as `op.execute`
calls, with the concurrent index build in an `autocommit_block()`, after the current head."""

from __future__ import annotations

import hashlib
from pathlib import Path

from auditor import __version__
from auditor.migrate.plan import KeyMigration
from auditor.migrate.render import context, down_sql, environment, render_sql
from auditor.schema.statements import split_statements

# Statements the recipe needs for psql, which Alembic does itself or must not see.
TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "START TRANSACTION")


def recipe_steps(m: KeyMigration) -> tuple[list[str], list[str], list[str]]:
    """(in the migration's transaction, in an autocommit block, after it)."""
    statements, error = split_statements(render_sql(m), m.dialect)
    if error:
        raise ValueError(f"generated SQL did not split: {error}")
    steps: tuple[list[str], list[str], list[str]] = ([], [], [])
    phase = 0
    for statement in (s.text.strip() for s in statements):
        upper = " ".join(statement.split()).upper()
        if upper in TRANSACTION_CONTROL:
            continue
        if upper.startswith("SET LOCK_TIMEOUT"):
            statement = statement.replace("SET lock_timeout", "SET LOCAL lock_timeout")
        if "CONCURRENTLY" in upper or (phase == 0 and "INDISVALID" in upper):
            phase = 1
        elif phase == 1:
            phase = 2
        steps[phase].append(statement)
    return steps


def revision_id(m: KeyMigration, down_revision: str | tuple | None) -> str:
    """Stable for the same key on the same head, so a re-run recognises its own revision."""
    return hashlib.sha1(f"{m.table.name}:{m.columns}:{down_revision}".encode()).hexdigest()[:12]


def render_alembic(m: KeyMigration, down_revision: str | tuple | None) -> str:
    in_transaction, autocommit, after = recipe_steps(m)
    names = context(m)
    down = down_sql(m)
    return environment().get_template("alembic.py.j2").render(
        version=__version__, table=str(m.table.name), columns=m.columns, reasons=[f"{r.path}:{r.line}" for r in m.reasons],
        archive=m.archive_name, concurrently=bool(autocommit), revision=revision_id(m, down_revision),
        down_revision=list(down_revision) if isinstance(down_revision, tuple) else down_revision,
        in_transaction=in_transaction, autocommit=autocommit, after=after, down=down,
    )


def alembic_target(root: Path, files: list[str]) -> tuple[Path, str | tuple | None] | None:
    """(versions folder, head revision) of the project's Alembic history, or None."""
    from auditor.schema.alembic_migrations import order_revisions, read_revision
    from auditor.schema.pysource import parse_module

    revisions = []
    for relative in files:
        module, _ = parse_module(root / relative, root)
        revision = read_revision(module) if module else None
        if revision:
            revisions.append(revision)
    if not revisions:
        return None
    graph = order_revisions(revisions)
    parents = {p for r in graph.ordered for p in r.parents}
    heads = [r for r in graph.ordered if r.revision not in parents]
    folder = (root / heads[-1].module.relative).parent
    head = heads[0].revision if len(heads) == 1 else tuple(h.revision for h in heads)
    return folder, head
