"""The Markdown audit report (upsert-audit-report.md), rendered from templates/report.md.j2."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import jinja2

from auditor.engine import AuditResult
from auditor.findings import Finding
from auditor.output.text import coverage_line
from auditor.resources import templates_dir
from auditor.rulebook import Rule

EXCERPT_CONTEXT = 3  # lines shown above and below the flagged line


@dataclass(frozen=True)
class Excerpt:
    first_line: int
    text: str


def code_excerpt(root: Path, finding: Finding) -> Excerpt | None:
    """The flagged line with a little context; None if the file cannot be read now."""
    try:
        lines = (root / finding.location.path).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    start = max(finding.location.line - 1 - EXCERPT_CONTEXT, 0)
    end = min(finding.location.line + EXCERPT_CONTEXT, len(lines))
    return Excerpt(start + 1, "\n".join(lines[start:end]))


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        autoescape=False,  # Markdown, not HTML
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )


def generated_migrations(result: AuditResult) -> dict:
    """Finding location -> (file name, text) of the migration `upsert-audit migrate` would write."""
    from auditor.migrate import generate

    try:
        report = generate(result, write=False)
    except Exception:  # noqa: BLE001 - the report must not fail because a migration could not be planned
        return {}
    found = {}
    for migration in report.migrations:
        for location in migration.key.reasons:
            found[location] = (migration.path.name, migration.text, migration.already_there)
    return found


def render_report(result: AuditResult) -> str:
    rules: dict[str, Rule] = {r.id: r for r in result.rules}
    migrations = generated_migrations(result)
    findings = [
        {"finding": f, "rule": rules.get(f.rule), "excerpt": code_excerpt(result.config.root, f),
         "migration": migrations.get(f.location)}
        for f in result.findings
    ]
    template = _environment().get_template("report.md.j2")
    return template.render(
        result=result,
        summary=result.summary,
        coverage=coverage_line(result),
        findings=findings,
        rules=rules,
        project=result.config.root.name,
    )
