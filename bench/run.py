"""Measure upsert-audit against its floor and its peers, on one corpus, in one run.

    .venv/bin/python bench/run.py [--corpus DIR] [--rounds N] [--skip-fixit]

Without --corpus, the source of Django, SQLAlchemy, sqlglot and botocore is
installed from PyPI into $TMPDIR/upsert-audit-bench/corpus (several hundred thousand lines of
real Python, no schema: every write site counts as unchecked, which is still the
full extraction work). Peers (ruff, fixit) go into $TMPDIR/upsert-audit-bench/tools. Each
command runs in a fresh process; the table gives the median wall time, lines per
second, the ratio to `ast.parse` of every file (the speed goal: <= 1) and peak
memory. Timings are never asserted in tests; they are recorded in the README.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import tempfile

# Outside any git checkout: ruff and fixit skip gitignored folders, and so would skip the corpus.
WORK = Path(tempfile.gettempdir()) / "upsert-audit-bench"
PY = sys.executable
CLI = [PY, "-m", "auditor"]
CORPUS_PACKAGES = ["Django==5.2.*", "SQLAlchemy==2.0.*", "sqlglot==30.30.*", "botocore==1.40.*"]
TOOLS = ["ruff", "fixit"]

AST_ALL = """
import ast, gc, sys, pathlib
gc.disable()
for p in sorted(pathlib.Path(sys.argv[1]).rglob('*.py')):
    try:
        ast.parse(p.read_bytes())
    except (SyntaxError, ValueError):
        pass
"""


# As a user's machine runs the tools: with bytecode caches. (A sandbox that sets
# PYTHONDONTWRITEBYTECODE makes every run compile every module it imports, ~0.1 s for us.)
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def run(cmd: list[str], cwd: Path) -> tuple[float, int]:
    """(wall seconds, peak RSS in MB) of one fresh process."""
    start = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=ENV)
    seconds = time.perf_counter() - start
    if proc.returncode >= 126:  # not found / not executable: a number from it would be a lie
        raise SystemExit(f"bench: could not run {cmd[0]}: {proc.stderr.strip()[-300:]}")
    peak_kb = int(proc.stderr.strip().splitlines()[-1]) if proc.stderr.strip() else 0
    return seconds, peak_kb // 1024


def timed(cmd: list[str], cwd: Path, rounds: int, before=None) -> tuple[float, int]:
    samples, peak = [], 0
    for _ in range(rounds):
        if before:
            before()
        seconds, mb = run(cmd, cwd)
        samples.append(seconds)
        peak = max(peak, mb)
    return statistics.median(samples), peak


def ensure_corpus() -> Path:
    corpus = WORK / "corpus"
    if not corpus.exists():
        subprocess.run([PY, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(corpus), *CORPUS_PACKAGES], check=True)
    return corpus


def ensure_tools() -> Path:
    tools = WORK / "tools"
    if not (tools / "bin" / "fixit").exists():
        subprocess.run([PY, "-m", "venv", str(tools)], check=True)
        subprocess.run([str(tools / "bin" / "pip"), "install", "--quiet", *TOOLS], check=True)
    return tools / "bin"


def hook_files(corpus: Path, count: int = 3) -> list[str]:
    """A typical commit: a few files that hold execute calls."""
    found = [p for p in sorted(corpus.rglob("*.py")) if b".execute(" in p.read_bytes()]
    return [str(p.relative_to(corpus)) for p in found[:count]]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", type=Path)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip-fixit", action="store_true")
    args = parser.parse_args()
    corpus = (args.corpus or ensure_corpus()).resolve()
    tools = ensure_tools()
    files = list(corpus.rglob("*.py"))
    lines = sum(p.read_bytes().count(b"\n") for p in files)
    print(f"corpus: {corpus}\n{len(files):,} .py files, {lines:,} lines; median of {args.rounds} round(s); machine: 2 cores\n")

    audit = [*CLI, "check", str(corpus), "--format", "json", "--dialect", "postgres"]
    changed = corpus / hook_files(corpus, 1)[0]
    original = changed.read_bytes()

    def touch_one_file():
        changed.write_bytes(original + f"\n# bench {time.time()}\n".encode())

    # Sanity: the audit must really run on this corpus before any time of it means anything.
    probe = subprocess.run([*audit, "--no-cache"], cwd=corpus, capture_output=True, text=True)
    summary = json.loads(probe.stdout)["summary"] if probe.stdout.startswith("{") else None
    # (A tree with a .gitignore has files the audit skips, as ruff and git do.)
    if summary is None or not 0.9 * len(files) <= summary["python_files"] <= len(files):
        raise SystemExit(f"bench: the audit did not run on the corpus:\n{probe.stderr[-2000:]}")
    print(f"audit: {summary['python_files']} files seen, {summary['python_files_parsed']} parsed, {summary['write_sites']} write sites\n")

    results: dict[str, tuple[float, int]] = {}
    results["ast.parse of every file (floor)"] = timed([PY, "-c", AST_ALL, str(corpus)], corpus, args.rounds)
    results["upsert-audit check, cold (--no-cache)"] = timed([*audit, "--no-cache"], corpus, args.rounds)
    run(audit, corpus)  # prime the cache
    results["upsert-audit check, warm cache"] = timed(audit, corpus, args.rounds)
    results["upsert-audit check, warm, one file changed"] = timed(audit, corpus, args.rounds, before=touch_one_file)
    changed.write_bytes(original)
    results["pre-commit hook: check 3 changed files"] = timed([*CLI, "check", *hook_files(corpus), "--dialect", "postgres"], corpus, args.rounds)
    results["ruff check --no-cache (default rules)"] = timed([str(tools / "ruff"), "check", "--isolated", "--no-cache", "--exit-zero", str(corpus)], corpus, args.rounds)
    if not args.skip_fixit:
        results["fixit lint (default rules)"] = timed([str(tools / "fixit"), "lint", str(corpus)], corpus, 1)

    floor = results["ast.parse of every file (floor)"][0]
    print("| command | seconds | lines/s | × ast.parse | peak MB |\n|---|---|---|---|---|")
    for name, (seconds, peak) in results.items():
        print(f"| {name} | {seconds:.2f} | {lines / seconds:,.0f} | {seconds / floor:.2f} | {peak} |")


if __name__ == "__main__":
    main()
