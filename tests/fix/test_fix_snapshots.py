"""The codemod on every supported shape, pinned by snapshots (read and checked by hand).

Each `snapshots/<case>.py` is audited as a project with `snapshots/schema.sql`; `fix
--write --unsafe-fixes` must turn it into `<case>.fixed.py` byte for byte. A case without
a `.fixed.py` must be left untouched, listed as a manual fix with the reason its first
line names (`# manual: <reason>`). Then: a second run changes nothing, and a re-audit
shows no idiom finding left.
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest

from auditor.cli import main
from auditor.config import load_config
from auditor.engine import run_audit
from auditor.fix import run_fix

SNAPSHOTS = Path(__file__).parent / "snapshots"
CASES = sorted(p.stem for p in SNAPSHOTS.glob("*.py") if not p.stem.endswith(".fixed"))
IDIOM_RULES = ("UPS101", "UPS102", "UPS103", "UPS104", "UPS105")
# Django finds models only in an app's models.py: every case lives there.
CODE = Path("app/models.py")


def project(tmp_path: Path, case: str) -> Path:
    (tmp_path / "app").mkdir()
    shutil.copy(SNAPSHOTS / f"{case}.py", tmp_path / CODE)
    shutil.copy(SNAPSHOTS / "schema.sql", tmp_path / "schema.sql")
    return tmp_path


def fix(root: Path, *flags: str) -> int:
    return main(["fix", str(root), "--no-cache", *flags])


@pytest.mark.parametrize("case", CASES)
def test_fix_rewrites_to_the_snapshot(case, tmp_path, capsys):
    root = project(tmp_path, case)
    before = (root / CODE).read_text()
    expected_file = SNAPSHOTS / f"{case}.fixed.py"
    code = fix(root, "--write", "--unsafe-fixes")
    after = (root / CODE).read_text()
    messages = capsys.readouterr().err
    if expected_file.exists():
        assert after == expected_file.read_text()
        assert code == 0, messages
        ast.parse(after)
    else:
        reason = before.splitlines()[0].removeprefix("# manual: ")
        assert after == before
        assert code == 1 and f"manual fix: {reason}" in messages, messages
    # Idempotent: a second run finds nothing more to change.
    fix(root, "--write", "--unsafe-fixes")
    assert (root / CODE).read_text() == after
    if expected_file.exists():  # the re-audit no longer sees the idiom
        assert [f.rule for f in run_audit(load_config(root, cache=False)).findings if f.rule in IDIOM_RULES] == []


def test_without_write_prints_the_diff_and_changes_nothing(tmp_path, capsys):
    root = project(tmp_path, "check_then_insert")
    before = (root / CODE).read_text()
    assert fix(root) == 1  # fixes are pending
    out = capsys.readouterr().out
    assert (root / CODE).read_text() == before
    assert out.startswith("--- a/app/models.py\n+++ b/app/models.py\n")
    assert '+        upsert_record(cur, "avatars"' in out


def test_unsafe_fixes_need_the_flag(tmp_path, capsys):
    root = project(tmp_path, "insert_except_integrity_error")
    before = (root / CODE).read_text()
    assert fix(root, "--write") == 1
    assert (root / CODE).read_text() == before
    assert "insert-except-integrity-error: unsafe fix available (--unsafe-fixes)" in capsys.readouterr().err


def test_the_configured_helper_is_called_and_imported(tmp_path):
    root = project(tmp_path, "update_then_insert_asyncpg")
    (root / "pyproject.toml").write_text('[tool.upsert-audit]\nhelper = "app.db.save_row"\n')
    assert fix(root, "--write") == 0
    text = (root / CODE).read_text()
    assert "from app.db import asave_row" in text and "await asave_row(conn, " in text


def test_a_file_changed_since_it_was_read_is_not_written(tmp_path):
    root = project(tmp_path, "check_then_insert")
    result = run_audit(load_config(root, cache=False))
    edited = (root / CODE).read_text() + "\n# edited meanwhile\n"
    original_write = Path.read_bytes

    def read_then_edit(path: Path) -> bytes:
        data = original_write(path)
        if path.name == "models.py" and not path.read_text().endswith("meanwhile\n"):
            path.write_text(edited)  # the user saves the file while fix runs
        return data

    Path.read_bytes = read_then_edit
    try:
        report = run_fix(result, write=True, unsafe=False)
    finally:
        Path.read_bytes = original_write
    assert (root / CODE).read_text() == edited
    assert report.written == [] and any("changed on disk" in m.reason for m in report.manual)
