"""The real pre-commit, in a throwaway git repository whose config points at this repository.

A commit adding a bad upsert is blocked with the finding shown; a clean commit passes.
pre-commit installs the hook from this repository's committed HEAD into its own
environment (PRE_COMMIT_HOME in tmp), as a user's machine would.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PRE_COMMIT = Path(sys.executable).with_name("pre-commit")

pytestmark = pytest.mark.slow

SCHEMA = "CREATE TABLE avatar_configurations (id serial PRIMARY KEY, user_id int NOT NULL UNIQUE, persona text);\n"
GOOD = '''import psycopg


def save(cur, user_id, persona):
    cur.execute(
        "INSERT INTO avatar_configurations (user_id, persona) VALUES (%s, %s) "
        "ON CONFLICT (user_id) DO UPDATE SET persona = EXCLUDED.persona",
        (user_id, persona),
    )
'''
BAD = GOOD.replace("ON CONFLICT (user_id)", "ON CONFLICT (persona)")


def git(cwd: Path, *args: str, env=None) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=env)


@pytest.fixture
def hooked_repo(tmp_path):
    if not PRE_COMMIT.exists():
        pytest.fail(f"pre-commit is not installed next to {sys.executable} (test extra)")
    head = git(REPO, "rev-parse", "HEAD").stdout.strip()
    assert head, "this repository has no commit for pre-commit to install"
    repo = tmp_path / "project"
    repo.mkdir()
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"), "GIT_CONFIG_NOSYSTEM": "1"}
    for args in (("init", "-q"), ("config", "user.email", "t@example.com"), ("config", "user.name", "T")):
        assert git(repo, *args).returncode == 0
    (repo / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {REPO}\n    rev: {head}\n    hooks:\n      - id: upsert-audit\n"
    )
    (repo / "schema.sql").write_text(SCHEMA)
    (repo / "pyproject.toml").write_text('[tool.upsert-audit]\ndialect = "postgres"\n')
    install = subprocess.run([str(PRE_COMMIT), "install"], cwd=repo, capture_output=True, text=True, env=env)
    assert install.returncode == 0, install.stderr
    git(repo, "add", "-A")
    first = git(repo, "commit", "-qm", "schema", env=env)
    assert first.returncode == 0, first.stdout + first.stderr
    return repo, env


def test_bad_upsert_is_blocked_and_clean_commit_passes(hooked_repo):
    repo, env = hooked_repo
    (repo / "store.py").write_text(BAD)
    git(repo, "add", "store.py")
    blocked = git(repo, "commit", "-qm", "bad upsert", env=env)
    output = blocked.stdout + blocked.stderr
    assert blocked.returncode != 0, output
    assert "store.py:5:5: UPS001" in output and "conflict-target-not-unique" in output
    assert git(repo, "log", "--oneline").stdout.count("\n") == 1  # nothing was committed

    (repo / "store.py").write_text(GOOD)
    git(repo, "add", "store.py")
    passed = git(repo, "commit", "-qm", "good upsert", env=env)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert git(repo, "log", "--oneline").stdout.count("\n") == 2
