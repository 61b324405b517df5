"""`upsert-audit fix`: rewrite the racy idioms the audit found into one `upsert_record()` call.

    audit -> idiom sites with a finding -> plan (auditor.fix.plan) -> LibCST rewrite
    (auditor.fix.apply) -> a diff, or with --write the files, each written atomically

Every idiom with a finding ends up as one of: a rewrite (safe, or unsafe and applied only
with --unsafe-fixes) or a manual fix with the reason it was not rewritten.
"""

from __future__ import annotations

import ast
import difflib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from auditor.engine import AuditResult
from auditor.fix.apply import RewriteError, rewrite_source, write_if_unchanged
from auditor.fix.plan import CannotRewrite, Manual, Rewrite, plan_rewrite
from auditor.python.files import decode_source


@dataclass
class FixReport:
    diffs: dict[str, str] = field(default_factory=dict)  # path -> unified diff
    written: list[str] = field(default_factory=list)
    applied: list[Rewrite] = field(default_factory=list)
    unsafe_skipped: list[Rewrite] = field(default_factory=list)  # need --unsafe-fixes
    manual: list[Manual] = field(default_factory=list)


def _split_helper(helper: str) -> tuple[str, str]:
    module, _, name = helper.rpartition(".")
    return module, name


def _named(rewrite: Rewrite, name: str) -> Rewrite:
    """The rewrite calling the configured helper (async twin: `a<name>`)."""
    wanted = "a" + name if rewrite.helper.startswith("a") else name
    if wanted == rewrite.helper:
        return rewrite
    code = rewrite.code.replace(rewrite.helper + "(", wanted + "(", 1)
    return Rewrite(rewrite.path, rewrite.first_line, rewrite.last_line, code, wanted, rewrite.safe, rewrite.rule_kind)


def plan_fixes(result: AuditResult, unsafe: bool) -> tuple[dict[str, list[Rewrite]], FixReport]:
    """Rewrites per file for every idiom that has a finding; the rest as manual fixes."""
    report = FixReport()
    flagged = {f.location for f in result.findings}
    module, name = _split_helper(result.config.helper)
    by_file: dict[str, list[Rewrite]] = defaultdict(list)
    trees: dict[str, tuple[str, ast.Module] | None] = {}
    for site in result.idiom_sites:
        if site.location not in flagged:
            continue
        path = site.location.path
        if path not in trees:
            text = decode_source((result.config.root / path).read_bytes()).text
            trees[path] = (text, ast.parse(text)) if text is not None else None
        if trees[path] is None:
            report.manual.append(Manual(path, site.location.line, "the file could not be read"))
            continue
        try:
            rewrite = _named(plan_rewrite(site, result.catalog.lookup(site.table), *trees[path]), name)
        except CannotRewrite as reason:
            report.manual.append(Manual(path, site.location.line, str(reason)))
            continue
        if rewrite.safe or unsafe:
            if not any(r.first_line <= rewrite.last_line and rewrite.first_line <= r.last_line for r in by_file[path]):
                by_file[path].append(rewrite)
        else:
            report.unsafe_skipped.append(rewrite)
    return by_file, report


def run_fix(result: AuditResult, write: bool, unsafe: bool) -> FixReport:
    by_file, report = plan_fixes(result, unsafe)
    module, _ = _split_helper(result.config.helper)
    for path, rewrites in sorted(by_file.items()):
        file = result.config.root / path
        original = file.read_bytes()
        text = decode_source(original).text
        try:
            new = rewrite_source(text, rewrites, module)
            if write:
                write_if_unchanged(file, original, new)
                report.written.append(path)
        except RewriteError as reason:
            report.manual.extend(Manual(path, r.first_line, f"not rewritten: {reason}") for r in rewrites)
            continue
        report.applied.extend(rewrites)
        report.diffs[path] = "".join(
            difflib.unified_diff(text.splitlines(True), new.splitlines(True), f"a/{path}", f"b/{path}")
        )
    return report


__all__ = ["FixReport", "plan_fixes", "run_fix"]
