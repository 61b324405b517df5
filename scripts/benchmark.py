"""Compare upsert-audit's cold audit with its floor and with peers, on one tree, in one run.

    .venv/bin/python scripts/benchmark.py [TREE] [--rounds N] [--peers]

TREE defaults to this virtualenv's site-packages (a few hundred thousand lines of
real Python). Each command runs in a fresh process, `--rounds` times; the table
shows the median wall time and its ratio to `ast.parse` of every file, which is
the speed goal for a cold audit (../shared/design.md, "Performance facts").
`--peers` also times `ruff check` and LibCST parsing of every file (ruff is
installed into .venv-bench on first use).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PY = sys.executable

AST_ALL = """
import ast, gc, sys, pathlib
gc.disable()
n = 0
for p in sorted(pathlib.Path(sys.argv[1]).rglob('*.py')):
    try:
        ast.parse(p.read_bytes()); n += 1
    except (SyntaxError, ValueError):
        pass
print(n)
"""

LIBCST_ALL = """
import libcst, sys, pathlib
for p in sorted(pathlib.Path(sys.argv[1]).rglob('*.py')):
    try:
        libcst.parse_module(p.read_bytes())
    except Exception:
        pass
"""


def timed(cmd: list[str], rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def ruff_binary() -> str:
    bench = REPO / ".venv-bench"
    if not (bench / "bin" / "ruff").exists():
        subprocess.run([PY, "-m", "venv", str(bench)], check=True)
        subprocess.run([str(bench / "bin" / "pip"), "install", "--quiet", "ruff"], check=True)
    return str(bench / "bin" / "ruff")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("tree", nargs="?", default=sysconfig.get_paths()["purelib"])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--peers", action="store_true")
    args = parser.parse_args()
    tree = Path(args.tree).resolve()
    files = list(tree.rglob("*.py"))
    lines = sum(p.read_bytes().count(b"\n") for p in files)
    print(f"tree: {tree}\n{len(files)} .py files, {lines:,} lines; median of {args.rounds} round(s)\n")

    commands = {
        "ast.parse every file (floor)": [PY, "-c", AST_ALL, str(tree)],
        "upsert-audit check (cold)": [PY, "-m", "auditor", "check", str(tree), "--format", "json", "--dialect", "postgres"],
    }
    if args.peers:
        commands["ruff check (default rules, no cache)"] = [ruff_binary(), "check", "--isolated", "--no-cache", "--exit-zero", str(tree)]
        commands["libcst.parse_module every file"] = [PY, "-c", LIBCST_ALL, str(tree)]

    results = {name: timed(cmd, args.rounds if "libcst" not in name else 1) for name, cmd in commands.items()}
    floor = results["ast.parse every file (floor)"]
    print(f"| command | seconds | x ast.parse |\n|---|---|---|")
    for name, seconds in results.items():
        print(f"| {name} | {seconds:.2f} | {seconds / floor:.2f} |")


if __name__ == "__main__":
    main()
