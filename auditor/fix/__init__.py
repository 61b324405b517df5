"""`upsert-audit fix`: rewrite the racy idioms the audit found into one `upsert_record()` call.

    audit -> idiom sites with a finding -> plan (auditor.fix.plan) -> LibCST rewrite
    (auditor.fix.apply) -> a diff, or with --write the files, each written atomically

Every idiom with a finding ends up as one of: a rewrite (safe, or unsafe and applied only
with --unsafe-fixes) or a manual fix with the reason it was not rewritten.
"""

from __future__ import annotations

import ast
import difflib
from dataclasses import dataclass, field
from pathlib import Path

from auditor.engine import AuditResult
from auditor.fix.apply import RewriteError, rewrite_source, write_if_unchanged
from auditor.fix.plan import CannotRewrite, Manual, Rewrite, plan_rewrite
from auditor.python.files import decode_source


@dataclass
class FilePlan:
    """The rewrites of one file, and the exact bytes they were planned from."""

    original: bytes
    text: str
    tree: ast.Module
    rewrites: list[Rewrite] = field(default_factory=list)


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
    if not rewrite.helper or wanted == rewrite.helper:  # "": the ORM's own method, nothing to import
        return rewrite
    code = rewrite.code.replace(rewrite.helper + "(", wanted + "(", 1)
    return Rewrite(rewrite.path, rewrite.first_line, rewrite.last_line, code, wanted, rewrite.safe, rewrite.rule_kind)


def _read(path: Path) -> FilePlan | None:
    """The file as planned from; None unless it is UTF-8 Python (the encoding we write back)."""
    original = path.read_bytes()
    try:
        text = original.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if decode_source(original).text != text:  # a PEP 263 coding line names another encoding
        return None
    try:
        return FilePlan(original, text, ast.parse(text))
    except SyntaxError:
        return None


def plan_fixes(result: AuditResult, unsafe: bool) -> tuple[dict[str, FilePlan], FixReport]:
    """Rewrites per file for every idiom that has a finding; the rest as manual fixes."""
    report = FixReport()
    flagged = {f.location for f in result.findings}
    _module, name = _split_helper(result.config.helper)
    files: dict[str, FilePlan | None] = {}
    for site in result.idiom_sites:
        if site.location not in flagged:
            continue
        path = site.location.path
        if path not in files:
            files[path] = _read(result.config.root / path)
        plan = files[path]
        if plan is None:
            report.manual.append(Manual(path, site.location.line, "the file is not UTF-8 Python: not rewritten"))
            continue
        try:
            rewrite = _named(plan_rewrite(site, result.catalog.lookup(site.table), plan.text, plan.tree), name)
        except CannotRewrite as reason:
            report.manual.append(Manual(path, site.location.line, str(reason)))
            continue
        if not (rewrite.safe or unsafe):
            report.unsafe_skipped.append(rewrite)
        elif not any(r.first_line <= rewrite.last_line and rewrite.first_line <= r.last_line for r in plan.rewrites):
            plan.rewrites.append(rewrite)
    return {p: f for p, f in files.items() if f is not None and f.rewrites}, report


def run_fix(result: AuditResult, write: bool, unsafe: bool) -> FixReport:
    plans, report = plan_fixes(result, unsafe)
    module, _ = _split_helper(result.config.helper)
    for path, plan in sorted(plans.items()):
        try:
            new = rewrite_source(plan.text, plan.rewrites, module)
            if write:
                write_if_unchanged(result.config.root / path, plan.original, new)
                report.written.append(path)
        except RewriteError as reason:
            report.manual.extend(Manual(path, r.first_line, f"not rewritten: {reason}") for r in plan.rewrites)
            continue
        report.applied.extend(plan.rewrites)
        report.diffs[path] = "".join(
            difflib.unified_diff(plan.text.splitlines(True), new.splitlines(True), f"a/{path}", f"b/{path}")
        )
    return report


__all__ = ["FixReport", "plan_fixes", "run_fix"]
