"""`fix --write` never leaves a half-written file, and never touches what it does not rewrite.

* Interrupted (SIGINT, or SIGKILL with no chance to clean up) in the middle of writing
  many files, every file is byte for byte either the old or the new version.
* Property (Hypothesis): over generated modules (idioms in every placeholder style, among
  arbitrary other code and comments), the output parses, every line outside the rewritten
  idiom is kept byte for byte, and a second run changes nothing.
"""

from __future__ import annotations

import ast
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor.config import load_config
from auditor.engine import run_audit
from auditor.fix import run_fix

SCHEMA = "CREATE TABLE avatars (id serial PRIMARY KEY, user_id int NOT NULL UNIQUE, persona text);\n"
IDIOM = '''
import psycopg


def save(conn, user_id, persona):
    cur = conn.cursor()
    cur.execute("UPDATE avatars SET persona = %s WHERE user_id = %s", (persona, user_id))
    if cur.rowcount == 0:
        cur.execute("INSERT INTO avatars (user_id, persona) VALUES (%s, %s)", (user_id, persona))
'''
FILES = 60


def many_idioms(root: Path) -> Path:
    (root / "app").mkdir(parents=True)
    (root / "schema.sql").write_text(SCHEMA)
    for n in range(FILES):
        (root / "app" / f"store_{n:03}.py").write_text(f"# module {n}\n{IDIOM}")
    return root


@pytest.mark.parametrize("signal_number", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_an_interrupted_fix_leaves_every_file_old_or_new(signal_number, tmp_path):
    reference = many_idioms(tmp_path / "reference")
    assert subprocess.run([sys.executable, "-m", "auditor", "fix", str(reference), "--write", "--no-cache"]).returncode == 0
    new = {p.name: p.read_bytes() for p in (reference / "app").iterdir()}
    project = many_idioms(tmp_path / "project")
    old = {p.name: p.read_bytes() for p in (project / "app").iterdir()}
    assert all(new[name] != old[name] for name in old)

    process = subprocess.Popen([sys.executable, "-m", "auditor", "fix", str(project), "--write", "--no-cache"], stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if any((project / "app" / name).read_bytes() == new[name] for name in list(old)[:: FILES // 40]):
            break  # writing has begun
        time.sleep(0.005)
    process.send_signal(signal_number)
    process.wait(timeout=60)

    states = {"old": 0, "new": 0}
    for name in old:
        data = (project / "app" / name).read_bytes()
        assert data in (old[name], new[name]), f"{name} is neither the old nor the new version"
        states["old" if data == old[name] else "new"] += 1
    assert states["new"] > 0  # the interruption came while writing
    if signal_number == signal.SIGINT:  # a clean interruption also removes its temporary file
        assert not [p for p in (project / "app").iterdir() if p.suffix == ".upsert-audit"]


# --- property: the codemod keeps everything it does not rewrite -----------------------------

names = st.sampled_from(["user_id", "uid", "u", "owner"])
filler = st.lists(
    st.sampled_from([
        "# a comment with 'quotes' and \\\\ backslashes",
        "X = {'a': [1, 2,\n     3]}",
        "def other(a, b=  2):\n    return (a +\n            b)  # keep spacing",
        "class K:\n    '''doc'''\n\n    value = 1",
        "",
        "try:\n    import json\nexcept ImportError:  # noqa\n    json = None",
    ]),
    max_size=4,
)
STYLES = {
    "format": ("%s", "({key}, {value})", "({value}, {key})"),
    "named": ("%({name})s", '{{"k": {key}, "v": {value}}}', '{{"k": {key}, "v": {value}}}'),
}


@st.composite
def modules(draw):
    key, value = draw(names), "persona"
    style = draw(st.sampled_from(sorted(STYLES)))
    mark, insert_args, update_args = STYLES[style]

    def ph(name):
        return mark.format(name=name)

    insert = f"INSERT INTO avatars (user_id, persona) VALUES ({ph('k')}, {ph('v')})"
    update = f"UPDATE avatars SET persona = {ph('v')} WHERE user_id = {ph('k')}"
    comment = draw(st.sampled_from(["", "    # look it up first\n"]))
    idiom = (
        f"def save(conn, {key}, {value}):\n{comment}"
        f"    cur = conn.cursor()\n"
        f"    cur.execute({update!r}, {update_args.format(key=key, value=value)})\n"
        f"    if cur.rowcount == 0:\n"
        f"        cur.execute({insert!r}, {insert_args.format(key=key, value=value)})\n"
    )
    before, after = draw(filler), draw(filler)
    return "import psycopg\n\n\n" + "\n\n\n".join([*before, idiom, *after]) + "\n"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(source=modules())
def test_the_codemod_keeps_what_it_does_not_rewrite(source, tmp_path_factory):
    root = tmp_path_factory.mktemp("prop")
    (root / "schema.sql").write_text(SCHEMA)
    code = root / "store.py"
    code.write_text(source)
    report = run_fix(run_audit(load_config(root, cache=False)), write=True, unsafe=False)
    assert len(report.applied) == 1, report.manual
    result = code.read_text()
    ast.parse(result)
    rewrite = report.applied[0]
    old_lines = source.splitlines(keepends=True)
    kept = old_lines[: rewrite.first_line - 1] + old_lines[rewrite.last_line :]
    new_lines = result.splitlines(keepends=True)
    added = [line for line in new_lines if line not in kept]
    assert [line for line in new_lines if line in kept] == kept  # every other line, in order, byte for byte
    assert len(added) == 2 and added[0] == "from auditor.upsert import upsert_record\n"
    assert added[1].lstrip().startswith('upsert_record(cur, "avatars", {"user_id": ')
    again = run_fix(run_audit(load_config(root, cache=False)), write=True, unsafe=False)
    assert again.applied == [] and code.read_text() == result
