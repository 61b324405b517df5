"""`migrate` killed at any moment leaves every migration file whole: each one is either
absent or complete, and the next run finishes the job without writing any key twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

TABLES = 150
# k NOT NULL: once a run has written a table's key, no NULLS NOT DISTINCT key (UPS010) follows.
SCHEMA = "\n".join(f"CREATE TABLE t{i} (id bigserial PRIMARY KEY, k int NOT NULL, v text);" for i in range(TABLES))
CODE = "import psycopg\n" + "\n".join(
    f'cur.execute("INSERT INTO t{i} (k, v) VALUES (%s, %s) ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v")' for i in range(TABLES)
)
LAST_LINE = "$upsert_audit$;\n"  # how every complete PostgreSQL migration ends


def start(project):
    return subprocess.Popen([sys.executable, "-m", "auditor", "migrate", str(project), "--no-cache"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def generated(project):
    return sorted(p for p in (project / "migrations").glob("*.sql") if p.name != "001_schema.sql")


def test_killed_runs_leave_only_whole_files(make_project):
    project = make_project({"migrations/001_schema.sql": SCHEMA, "app.py": CODE})
    assert start(project).wait(timeout=120) == 0  # a reference run
    reference = {p.name.split("_", 1)[1]: p.read_text() for p in generated(project)}
    assert len(reference) == TABLES
    for path in generated(project):
        path.unlink()

    counts = []
    for _ in range(4):
        before = len(generated(project))
        process = start(project)
        while process.poll() is None and len(generated(project)) == before:
            time.sleep(0.002)  # kill the moment this run has written something: mid-run
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        for path in generated(project):
            assert path.read_text().endswith(LAST_LINE), f"{path.name} is partial"
        counts.append(len(generated(project)))
    assert any(0 < n < TABLES for n in counts), counts  # the kills really landed mid-run

    assert start(project).wait(timeout=120) == 0
    finished = {p.name.split("_", 1)[1]: p.read_text() for p in generated(project)}
    assert finished == reference  # every key once, every file whole
    assert not list((project / "migrations").glob(".*upsert-audit-tmp"))
