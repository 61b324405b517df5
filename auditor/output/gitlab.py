"""`--format gitlab`: a GitLab Code Quality report (`artifacts: reports: codequality:`).

The format is a JSON array of issues with the fields GitLab documents at
https://docs.gitlab.com/ci/testing/code_quality/#code-quality-report-format (a subset of the
Code Climate spec). GitLab compares the issues of a merge request with its target branch's by
`fingerprint`, and keeps one issue per fingerprint, so each finding carries the stable
fingerprint the baseline and SARIF use: it survives unrelated edits and is unique per finding.

What the audit could not check is not dropped: each reason (with its count, first places and
remedy) is an `info` issue named `upsert-audit/unchecked`, and each file or statement it could
not read a `minor` issue named `upsert-audit/<kind>` (as `--format github` warns about them).
"""

from __future__ import annotations

import json

from auditor.engine import AuditResult
from auditor.findings import Finding
from auditor.fingerprint import fingerprints
from auditor.model import Severity
from auditor.output.not_checked import UNCHECKED, NotChecked, not_checked

# GitLab's scale is info < minor < major < critical < blocker. An error is a write the database
# rejects or gets wrong every time it runs: "critical", the top of what a tool can know about
# code ("blocker" is left to the team's own merge policy). A warning is a real defect that shows
# under concurrency or on some data (races, swallowed errors): "major", not "minor", which reads
# as style. Info is coverage and portability notes, which do not fail the exit code: "info".
SEVERITY = {Severity.ERROR: "critical", Severity.WARNING: "major", Severity.INFO: "info"}
CATEGORIES = ["Bug Risk"]  # Code Climate's category for code that may not behave as intended


def _location(path: str, line: int) -> dict:
    return {"path": path, "lines": {"begin": max(line, 1)}}


def _body(finding: Finding) -> str:
    """The Markdown shown with the issue: the fix, the SQL's origin and the schema evidence."""
    parts = [f"**{finding.rule} {finding.name}** ({finding.severity}): {finding.message}"]
    if finding.sql_origin:
        parts.append(f"SQL written at `{finding.sql_origin}`")
    parts += [f"Schema: {e.description}" + (f" (`{e.origin}`)" if e.origin else "") for e in finding.evidence]
    parts.append(f"**Fix** ({finding.fix_safety.value}): {finding.fix.strip()}")
    if finding.fix_code:
        parts.append(f"```\n{finding.fix_code.strip()}\n```")
    return "\n\n".join(parts)


def finding_issue(finding: Finding, fingerprint: str) -> dict:
    return {
        "type": "issue",
        "check_name": finding.rule,  # the id users select, ignore and suppress by
        "description": finding.message,
        "content": {"body": _body(finding)},
        "categories": CATEGORIES,
        "fingerprint": fingerprint,
        "severity": SEVERITY[finding.severity],
        "location": _location(finding.location.path, finding.location.line),
    }


def not_checked_issue(entry: NotChecked) -> dict:
    return {
        "type": "issue",
        "check_name": f"upsert-audit/{entry.check}",  # not a rule id: nothing to ignore or suppress
        "description": entry.title,
        "content": {"body": entry.detail.replace("\n", "\n\n")},  # Markdown: one paragraph a line
        "categories": CATEGORIES,
        "fingerprint": entry.fingerprint,
        "severity": "info" if entry.check == UNCHECKED else "minor",
        "location": _location(entry.location.path, entry.location.line),
    }


def render_gitlab(result: AuditResult) -> str:
    issues = [finding_issue(f, fp) for f, fp in zip(result.findings, fingerprints(result.findings))]
    issues += [not_checked_issue(e) for e in not_checked(result)]
    # ASCII-only JSON (escapes), and no byte order mark: GitLab's parser rejects one.
    return json.dumps(issues, indent=2) + "\n"
