"""Score upsert-audit on the labelled corpus of real applications.

    .venv/bin/python bench/corpus/score.py MIRRORS [--work DIR] [--repo OWNER/NAME ...]
                                           [--json FILE] [--keep]

MIRRORS is a folder of bare git mirrors, one per corpus repository, as
`<owner>+<name>/repo` (the layout the search tool's `fetch` leaves in /work/.mirror) or
`<owner>+<name>.git` (`git clone --mirror`); README.md in this folder says how to fill it.

Every tree a label names (each repository's pinned commit, and both sides of every bug-fix
pair) is exported with `git archive` into --work and audited as a user would:
`upsert-audit check . --format json --no-cache` from the tree's root. Then, per repository
and in total:

- recall: BUG labels flagged / BUG labels;
- precision: flagged BUG labels / flagged BUG and OK labels;
- bug-fix pairs won: the `before` side flagged as its verdict says and every `after` side too
  (a fixed site silent, an incomplete fix still flagged);
- UNSURE labels flagged / silent;
- write sites found, resolved, checked, and the unresolved ones grouped by reason;
- crashes (no JSON, or an `internal-error` diagnostic) and seconds per tree.

A finding flags a label when it is a warning or an error (info findings never count) and its
own location or the location of its SQL (`sql_origin`) lies in the label's file within the
labelled statement's lines (`stmt_start`..`line`); among several such labels the one whose
`line` is nearest wins. Findings that flag no label are counted as unlabelled.

A benchmark, not a test: CI cannot reach the corpus repositories.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
COUNTED = {"error", "warning"}


@dataclass(frozen=True)
class Label:
    repo: str
    commit: str
    path: str
    line: int
    stmt_start: int
    kind: str
    verdict: str
    pair: str | None
    role: str | None

    def holds(self, path: str, line: int) -> bool:
        return path == self.path and self.stmt_start <= line <= self.line


@dataclass
class TreeResult:
    repo: str
    commit: str
    seconds: float = 0.0
    crashed: str | None = None  # why, if the run crashed
    summary: dict = field(default_factory=dict)
    flagged: set = field(default_factory=set)  # labels flagged
    seen: dict = field(default_factory=lambda: collections.defaultdict(list))  # label -> every finding on it
    sites_at: dict = field(default_factory=lambda: collections.defaultdict(list))  # label -> write sites / idioms on it
    unlabelled: int = 0  # warning/error findings that flag no label
    unresolved_reasons: collections.Counter = field(default_factory=collections.Counter)
    diagnostics: collections.Counter = field(default_factory=collections.Counter)


def load_labels(path: Path) -> list[Label]:
    labels = []
    for text in path.read_text(encoding="utf-8").splitlines():
        if text.strip():
            row = json.loads(text)
            labels.append(Label(row["repo"], row["commit"], row["path"], row["line"], row["stmt_start"],
                                row["kind"], row["verdict"], row.get("pair"), row.get("role")))
    return labels


def mirror_of(mirrors: Path, repo: str) -> Path:
    slug = repo.replace("/", "+")
    for candidate in (mirrors / slug / "repo", mirrors / f"{slug}.git", mirrors / slug):
        if (candidate / "HEAD").exists():
            return candidate
    raise SystemExit(f"score: no mirror of {repo} in {mirrors} (looked for {slug}/repo and {slug}.git)")


def export(mirror: Path, commit: str, dest: Path) -> Path:
    """The tree at `commit`, exported once; a finished export is marked and reused.

    Not `git archive`: mirrors made by `fetch` lack blobs of 4 MiB and more (data dumps,
    vendored bundles), and archive stops at the first missing blob. Those files are left
    out and counted; submodules are left out as `git archive` leaves them out.
    """
    done = dest / ".exported"
    if done.exists():
        return dest
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    git = ["git", "--git-dir", str(mirror)]
    listing = subprocess.run([*git, "ls-tree", "-r", "-z", commit], capture_output=True, check=True).stdout
    entries = []  # (mode, sha, path)
    for item in listing.split(b"\0"):
        if item:
            meta, path = item.split(b"\t", 1)
            mode, kind, sha = meta.split()
            if kind == b"blob":
                entries.append((mode, sha, path.decode("utf-8", "surrogateescape")))
    batch = subprocess.run([*git, "cat-file", "--batch"], input=b"".join(sha + b"\n" for _, sha, _ in entries),
                           capture_output=True, check=True).stdout
    at, missing = 0, 0
    for mode, sha, path in entries:
        end = batch.index(b"\n", at)
        header = batch[at:end].split()
        at = end + 1
        if header[1] == b"missing":
            missing += 1
            continue
        size = int(header[2])
        data, at = batch[at:at + size], at + size + 1
        target = dest / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if mode == b"120000":
            continue  # symlinks: a user's checkout has them, but they point into the tree already read
        target.write_bytes(data)
    done.write_text(f"{commit}\n{missing} blobs missing from the mirror\n")
    return dest


def reason_group(detail: str) -> str:
    """An unresolved site's reason without its names and numbers, so like reasons group."""
    detail = re.sub(r"'[^']*'|\"[^\"]*\"|`[^`]*`", "…", detail)
    detail = re.sub(r"^table \S+ is not", "table … is not", detail)
    detail = re.sub(r"\b\d+\b", "N", detail)
    return detail.strip()[:90]


def audit(tree: Path, tool: Path | None = None) -> tuple[dict | None, float, str | None]:
    """Run the audit on one tree; `tool` is another checkout of upsert-audit to run instead
    of the installed one (to score an older commit, such as the baseline, in the same way)."""
    env = dict(os.environ)
    if tool is not None:
        env["PYTHONPATH"] = str(tool.resolve())
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "auditor", "check", ".", "--format", "json", "--no-cache"],
                          cwd=tree, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - start
    try:
        return json.loads(proc.stdout), seconds, None
    except json.JSONDecodeError:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return None, seconds, f"exit {proc.returncode}: {tail[:200]}"


def finding_places(finding: dict) -> list[tuple[str, int]]:
    """A finding's (or a site's) own location and the location of its SQL."""
    places = [(finding["path"], finding["line"])]
    origin = finding.get("sql_origin")
    if origin:
        places.append((origin["path"], origin["line"]))
    for related in finding.get("related", []) or []:
        if isinstance(related, dict) and "path" in related and "line" in related:
            places.append((related["path"], related["line"]))
    return places


def flagged_label(finding: dict, labels: list[Label]) -> Label | None:
    """The label this finding flags: the nearest whose statement holds one of its places. Of
    labels that end on the same line (three guards before one insert), the one whose statement
    starts nearest one of the finding's places (its guard, as `sql_origin`)."""
    places = finding_places(finding)
    best, distance = None, None
    for path, line in places:
        for label in labels:
            if label.holds(path, line):
                d = (abs(label.line - line), min((abs(label.stmt_start - other) for other_path, other in places[1:] if other_path == path), default=0))
                if distance is None or d < distance:
                    best, distance = label, d
    return best


def score_tree(result: TreeResult, report: dict, labels: list[Label]) -> None:
    result.summary = report.get("summary", {})
    for diagnostic in report.get("diagnostics", []):
        kind = diagnostic.get("kind", "?")
        result.diagnostics[kind] += 1
        if kind == "internal-error" and result.crashed is None:
            result.crashed = f"internal-error: {diagnostic.get('message', '')[:200]}"
    for site in report.get("sites", []):
        if site["status"] not in ("checked", "checked at its calls", "not an upsert"):
            what = "statement" if site["kind"] == "statement" else "idiom"
            result.unresolved_reasons[f"{what} {site['status']}: {reason_group(site['detail'] or '')}"] += 1
        label = flagged_label(site, labels)
        if label is not None:
            result.sites_at[label].append(site)
    for finding in report.get("findings", []):
        label = flagged_label(finding, labels)
        if label is not None:
            result.seen[label].append(finding)
        if finding["severity"] not in COUNTED:
            continue
        if label is None:
            result.unlabelled += 1
        else:
            result.flagged.add(label)


@dataclass
class Score:
    bug: int = 0
    bug_flagged: int = 0
    ok: int = 0
    ok_flagged: int = 0
    unsure: int = 0
    unsure_flagged: int = 0
    pairs: int = 0
    pairs_won: int = 0
    unlabelled: int = 0
    write_sites: int = 0
    resolved: int = 0
    checked: int = 0
    idioms: int = 0
    crashes: int = 0
    seconds: float = 0.0

    def add(self, other: "Score") -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def recall(self) -> float | None:
        return self.bug_flagged / self.bug if self.bug else None

    @property
    def precision(self) -> float | None:
        flagged = self.bug_flagged + self.ok_flagged
        return self.bug_flagged / flagged if flagged else None


def repo_score(labels: list[Label], trees: list[TreeResult]) -> Score:
    flagged = set().union(*(t.flagged for t in trees)) if trees else set()
    s = Score()
    for label in labels:
        hit = label in flagged
        if label.verdict == "BUG":
            s.bug += 1
            s.bug_flagged += hit
        elif label.verdict == "OK":
            s.ok += 1
            s.ok_flagged += hit
        else:
            s.unsure += 1
            s.unsure_flagged += hit
    by_pair = collections.defaultdict(list)
    for label in labels:
        if label.pair:
            by_pair[label.pair].append(label)
    for members in by_pair.values():
        decided = [m for m in members if m.verdict != "UNSURE"]
        s.pairs += 1
        s.pairs_won += bool(decided) and all((m in flagged) == (m.verdict == "BUG") for m in decided)
    for t in trees:
        s.unlabelled += t.unlabelled
        s.crashes += t.crashed is not None
        s.seconds += t.seconds
        # Coverage is the pinned tree's, so that pair trees do not count a repository twice.
        if t.commit == pinned_commit(t.repo):
            s.write_sites += t.summary.get("write_sites", 0)
            s.resolved += t.summary.get("resolved", 0)
            s.checked += t.summary.get("checked", 0)
            s.idioms += t.summary.get("idioms", 0)
    return s


_PINNED: dict[str, str] = {}


def pinned_commit(repo: str) -> str:
    return _PINNED.get(repo, "")


def pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.0f}%"


def row(name: str, s: Score) -> str:
    cov = f"{s.checked}/{s.write_sites} ({pct(s.checked / s.write_sites if s.write_sites else None)})"
    return (f"| {name} | {s.bug_flagged}/{s.bug} {pct(s.recall)} | {pct(s.precision)} ({s.ok_flagged} OK flagged of {s.ok}) "
            f"| {s.pairs_won}/{s.pairs} | {s.unsure_flagged}/{s.unsure - s.unsure_flagged} | {s.resolved}/{s.write_sites} "
            f"| {cov} | {s.idioms} | {s.unlabelled} | {s.crashes} | {s.seconds:.1f} |")


HEADER = ("| repository | recall (BUG flagged) | precision | pairs won | UNSURE flagged/silent | resolved/found "
          "| checked/found | idioms | unlabelled findings | crashes | seconds |\n"
          "|---|---|---|---|---|---|---|---|---|---|---|")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("mirrors", type=Path, help="folder of bare git mirrors (see README.md)")
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "upsert-audit-corpus",
                    help="where trees are exported (reused between runs)")
    ap.add_argument("--labels", type=Path, default=HERE / "labels.jsonl")
    ap.add_argument("--repos", type=Path, default=HERE / "repos.json")
    ap.add_argument("--repo", action="append", help="score only this repository (repeatable)")
    ap.add_argument("--json", type=Path, help="also write the per-tree results here")
    ap.add_argument("--keep", action="store_true", help="keep exported trees (default: remove each after its audit)")
    ap.add_argument("--tool", type=Path, help="a checkout of upsert-audit to score instead of the installed one "
                                              "(e.g. `git worktree add /tmp/base <commit>`)")
    args = ap.parse_args(argv)

    repos = json.loads(args.repos.read_text(encoding="utf-8"))
    _PINNED.update({r["repo"]: r["commit"] for r in repos})
    labels = load_labels(args.labels)
    wanted = [r["repo"] for r in repos if not args.repo or r["repo"] in args.repo]

    total = Score()
    lines = [HEADER]
    per_tree: list[TreeResult] = []
    reasons = collections.Counter()
    diagnostics = collections.Counter()
    for repo in wanted:
        mirror = mirror_of(args.mirrors, repo)
        repo_labels = [lab for lab in labels if lab.repo == repo]
        commits = [_PINNED[repo]] + sorted({lab.commit for lab in repo_labels} - {_PINNED[repo]})
        trees = []
        for commit in commits:
            dest = args.work / f"{repo.replace('/', '+')}@{commit[:12]}"
            tree = export(mirror, commit, dest)
            result = TreeResult(repo, commit)
            report, result.seconds, result.crashed = audit(tree, args.tool)
            if report is not None:
                score_tree(result, report, [lab for lab in repo_labels if lab.commit == commit])
            if not args.keep:
                shutil.rmtree(dest, ignore_errors=True)
            trees.append(result)
            print(f"  {repo}@{commit[:12]}: {result.seconds:.1f} s"
                  f"{', CRASH ' + result.crashed if result.crashed else ''}", file=sys.stderr)
        s = repo_score(repo_labels, trees)
        total.add(s)
        lines.append(row(repo, s))
        per_tree.extend(trees)
        for t in trees:
            if t.commit == _PINNED[repo]:
                reasons.update(t.unresolved_reasons)
            diagnostics.update(t.diagnostics)
    lines.append(row("**total**", total))
    print("\n".join(lines))
    print(f"\nwrite sites checked: {total.checked} of {total.write_sites} "
          f"({pct(total.checked / total.write_sites if total.write_sites else None)}); "
          f"recall {pct(total.recall)}, precision {pct(total.precision)}, pairs won {total.pairs_won}/{total.pairs}, "
          f"crashes {total.crashes}")
    print("\nunresolved write sites by reason (pinned trees):")
    for reason, n in reasons.most_common(25):
        print(f"  {n:6d}  {reason}")
    print("\ndiagnostics by kind (all trees):")
    for kind, n in diagnostics.most_common():
        print(f"  {n:6d}  {kind}")
    print("\nmissed BUG and flagged OK labels, with what the audit said at the site:")
    for t in per_tree:
        for label in (lab for lab in labels if lab.repo == t.repo and lab.commit == t.commit):
            missed = label.verdict == "BUG" and label not in t.flagged
            wrong = label.verdict == "OK" and label in t.flagged
            if missed or wrong:
                said = "; ".join(f"{f['rule']} {f['severity']}: {f['message'][:140]}" for f in t.seen.get(label, [])) or "no finding"
                found = "; ".join(f"{x['kind']} {x['status']}" + (f" ({x['detail'][:100]})" if x["detail"] else "")
                                  for x in t.sites_at.get(label, [])) or "no write site or idiom found"
                print(f"  {'MISS' if missed else 'FP  '} {label.repo}@{label.commit[:8]} {label.path}:{label.stmt_start}-{label.line} "
                      f"[{label.kind}] -> {said} | {found}")
    if args.json:
        args.json.write_text(json.dumps([
            {"repo": t.repo, "commit": t.commit, "seconds": round(t.seconds, 2), "crashed": t.crashed,
             "summary": t.summary, "unlabelled": t.unlabelled,
             "flagged": sorted(f"{lab.path}:{lab.line}" for lab in t.flagged),
             "unresolved_reasons": dict(t.unresolved_reasons), "diagnostics": dict(t.diagnostics)}
            for t in per_tree], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
