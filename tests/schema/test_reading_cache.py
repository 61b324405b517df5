"""The schema reading kept between runs: used only while every file it read is unchanged, and
an audit from it is the audit without it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from auditor.config import load_config
from auditor.engine import run_audit
from auditor.schema import reading_cache

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

UPSERT = '''
import psycopg


def save(conn: psycopg.Connection, user_id, persona):
    conn.execute(
        "INSERT INTO avatars (user_id, persona) VALUES (%s, %s) "
        "ON CONFLICT (user_id) DO UPDATE SET persona = EXCLUDED.persona",
        (user_id, persona),
    )
'''

# The model's table name is a constant of another module: the reading depends on that file too.
MODELS = '''
from sqlalchemy import Column, Integer, String
from sqlalchemy.orm import declarative_base

from app.names import AVATARS

Base = declarative_base()


class Avatar(Base):
    __tablename__ = AVATARS
    id = Column(Integer, primary_key=True)
    user_id = Column(Integer, nullable=False, unique=True)
    persona = Column(String)
'''


@pytest.fixture
def reads(monkeypatch):
    """How many times the schema was really read (not taken from the cache)."""
    calls = []
    real = reading_cache.read_schema

    def counting(*args, **kwargs):
        calls.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(reading_cache, "read_schema", counting)
    return calls


def outcome(project: Path, cache: bool = True) -> tuple:
    result = run_audit(load_config(project, cache=None if cache else False))
    return (
        sorted((f.rule, f.location.path, f.location.line, f.message) for f in result.findings),
        sorted(str(t) for t in result.catalog.tables),
        sorted((str(n), tuple(k.describe() for k in t.unique_keys)) for n, t in result.catalog.tables.items()),
        result.schema_sources,
    )


def edit(path: Path, text: str) -> None:
    """Write `text` and move the modification time on, as an editor a moment later would."""
    stamp = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text)
    os.utime(path, ns=(stamp + 2_000_000_000, stamp + 2_000_000_000))


@pytest.fixture
def project(make_project):
    return make_project({"app/__init__.py": "", "app/names.py": 'AVATARS = "avatars"\n', "app/models.py": MODELS, "app/store.py": UPSERT,
                         "app/views.py": "def index():\n    return 'hello'\n"})


def test_a_second_run_takes_the_kept_reading_and_audits_the_same(project, reads):
    first = outcome(project)
    assert len(reads) == 1
    assert outcome(project) == first and len(reads) == 1
    assert outcome(project, cache=False) == first and len(reads) == 2


def test_an_edit_to_a_file_the_reading_did_not_read_keeps_it(project, reads):
    outcome(project)
    edit(project / "app" / "views.py", "def index():\n    return 'hello, world'\n")
    outcome(project)
    assert len(reads) == 1


def test_an_edit_to_a_model_reads_again(project, reads):
    before = outcome(project)
    edit(project / "app" / "models.py", MODELS.replace("nullable=False, unique=True", "nullable=False"))
    after = outcome(project)
    assert len(reads) == 2
    assert "UPS001" not in [f[0] for f in before[0]] and "UPS001" in [f[0] for f in after[0]]
    assert after == outcome(project, cache=False)


def test_an_edit_to_a_constant_the_model_imports_reads_again(project, reads):
    outcome(project)
    edit(project / "app" / "names.py", 'AVATARS = "avatar_configurations"\n')
    after = outcome(project)
    assert len(reads) == 2
    assert "public.avatar_configurations" in after[1] or "avatar_configurations" in " ".join(after[1])
    assert after == outcome(project, cache=False)


def test_a_new_file_reads_again(project, reads):
    outcome(project)
    edit(project / "app" / "more.py", "X = 1\n")
    outcome(project)
    assert len(reads) == 2


def test_another_dialect_is_another_reading(project, reads):
    outcome(project)
    run_audit(load_config(project, dialect="sqlite"))
    run_audit(load_config(project, dialect="sqlite"))
    outcome(project)
    assert len(reads) == 2


@pytest.mark.parametrize("damage", [b"", b"not a pickle", None])
def test_a_damaged_or_missing_cache_file_reads_again(project, reads, damage):
    first = outcome(project)
    [kept] = (project / ".upsert-audit-cache").glob("*-schema-*.pickle")
    if damage is None:
        kept.unlink()
    else:
        kept.write_bytes(damage)
    assert outcome(project) == first and len(reads) == 2


@pytest.mark.parametrize("example", ["django_app", "sqlalchemy_app", "avatar_app"])
def test_the_examples_audit_the_same_from_the_kept_reading(example, tmp_path, reads):
    project = tmp_path / example
    shutil.copytree(EXAMPLES / example, project, ignore=shutil.ignore_patterns("*.db", "__pycache__", ".upsert-audit-cache"))
    cold = outcome(project, cache=False)
    assert outcome(project) == cold
    assert outcome(project) == cold
    assert len(reads) == 2  # the cold run and the first cached one; the last took the kept reading


def test_a_django_migration_edit_reads_again(tmp_path, reads):
    project = tmp_path / "django_app"
    shutil.copytree(EXAMPLES / "django_app", project, ignore=shutil.ignore_patterns("*.db", "__pycache__", ".upsert-audit-cache"))
    outcome(project)
    migration = project / "profiles" / "migrations" / "0003_session.py"
    edit(migration, migration.read_text() + "\n# reviewed\n")
    assert outcome(project) == outcome(project, cache=False)
    assert len(reads) == 3


def test_other_code_of_the_tool_reads_again(project, reads, monkeypatch):
    """A checkout between two commits keeps the version number: the readers' bytes are the key."""
    outcome(project)
    monkeypatch.setattr(reading_cache, "tool_fingerprint", lambda: "another build of the readers")
    outcome(project)
    assert len(reads) == 2
