"""`upsert-audit migrate` writes where the project keeps its migrations, and where it cannot
tell (a Django project whose migrations were not replayed, models with no migration
history), it says so and asks for --format and -o instead of inventing a `migrations/`."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from auditor.cli import main

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "schema"))
from framework_oracle import copy_example  # noqa: E402


def _django_without_migrations(tmp_path: Path) -> Path:
    project = copy_example("django_app", tmp_path)
    for folder in project.glob("*/migrations"):
        shutil.rmtree(folder)
    return project


def _files(project: Path) -> set[Path]:
    return {p.relative_to(project) for p in project.rglob("*") if p.is_file() and ".upsert-audit-cache" not in p.parts}


def test_django_models_without_migrations_ask_for_a_format_and_folder(tmp_path, capsys):
    project = _django_without_migrations(tmp_path)
    before = _files(project)

    for dry_run in ([], ["--dry-run"]):
        assert main(["migrate", str(project), "--no-cache", *dry_run]) == 2
        error = capsys.readouterr().err
        assert "cannot tell where this project keeps its migrations" in error
        assert "Django models" in error and "--format" in error and "-o DIR" in error

    assert not (project / "migrations").exists()
    assert _files(project) == before  # nothing written anywhere


def test_given_a_format_and_folder_it_writes_there(tmp_path, capsys):
    project = _django_without_migrations(tmp_path)

    assert main(["migrate", str(project), "--no-cache", "--format", "sql", "-o", str(project / "db" / "keys")]) == 0
    [written] = (project / "db" / "keys").glob("*.sql")
    assert "UNIQUE" in written.read_text().upper()
    assert not (project / "migrations").exists()


def test_sql_format_without_a_sql_folder_asks_for_one(tmp_path, capsys):
    project = _django_without_migrations(tmp_path)

    assert main(["migrate", str(project), "--no-cache", "--format", "sql"]) == 2
    assert "-o DIR" in capsys.readouterr().err
    assert not (project / "migrations").exists()


MODELS_ONLY = {
    "app/models.py": """
from sqlalchemy import Column, Integer, String
from sqlalchemy.orm import declarative_base

Base = declarative_base()


class Avatar(Base):
    __tablename__ = "avatars"
    id = Column(Integer, primary_key=True)
    user_id = Column(Integer, nullable=False)
    persona = Column(String)
""",
    "app/store.py": """
import psycopg


def save(conn: psycopg.Connection, user_id, persona):
    conn.execute(
        "INSERT INTO avatars (user_id, persona) VALUES (%s, %s) "
        "ON CONFLICT (user_id) DO UPDATE SET persona = EXCLUDED.persona",
        (user_id, persona),
    )
""",
}


def test_models_with_no_migration_history_name_what_was_read(make_project, capsys):
    project = make_project(MODELS_ONLY)
    assert main(["check", str(project), "--no-cache"]) == 1  # UPS001: the key migrate would add
    capsys.readouterr()

    assert main(["migrate", str(project), "--no-cache"]) == 2
    error = capsys.readouterr().err
    assert "sqlalchemy models" in error and "--format sql|alembic|django -o DIR" in error
    assert not (project / "migrations").exists()


def test_a_clean_project_needs_no_folder(tmp_path, capsys):
    project = copy_example("sqlalchemy_app", tmp_path)
    shutil.rmtree(project / "migrations")

    assert main(["migrate", str(project), "--no-cache"]) == 0
    assert "no finding needs a new unique key" in capsys.readouterr().err
    assert not (project / "migrations").exists()
