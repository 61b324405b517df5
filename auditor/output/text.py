"""Default output: one block per finding, then diagnostics and an honest summary."""

from __future__ import annotations

from auditor.engine import AuditResult
from auditor.findings import Finding


def _finding_block(finding: Finding) -> list[str]:
    lines = [f"{finding.location}: {finding.rule} [{finding.severity}] {finding.name}: {finding.message}"]
    if finding.sql_origin:
        lines.append(f"    SQL written at {finding.sql_origin}")
    for evidence in finding.evidence:
        where = f"  ({evidence.origin})" if evidence.origin else ""
        lines.append(f"    schema: {evidence.description}{where}")
    lines.append(f"    fix ({finding.fix_safety.value}): {finding.fix.strip()}")
    if finding.fix_code:
        lines.extend(f"      {line}" for line in finding.fix_code.strip().splitlines())
    return lines


def coverage_line(result: AuditResult) -> str:
    s = result.summary
    parts = [
        f"{s.write_sites} write site(s) found",
        f"{s.resolved} resolved to a known table",
        f"{s.checked} checked",
    ]
    if s.unresolved:
        parts.append(f"{s.unresolved} unresolved (SQL not a constant)")
    if s.unparsed:
        parts.append(f"{s.unparsed} unparsed")
    if s.unknown_tables:
        parts.append(f"{len(s.unknown_tables)} unknown table(s): {', '.join(s.unknown_tables)}")
    return "; ".join(parts)


def render_text(result: AuditResult) -> str:
    out: list[str] = []
    for finding in result.findings:
        out.extend(_finding_block(finding))
        out.append("")
    for diagnostic in result.diagnostics:
        out.append(f"warning: {diagnostic}")
    for suppression in result.unused_suppressions:
        out.append(f"warning: {suppression}")
    if result.diagnostics or result.unused_suppressions:
        out.append("")
    if not result.schema_found:
        out.append(
            "warning: no schema found (no .sql schema or migration files under the project, and no --schema): "
            "write sites could not be checked against unique keys"
        )
    s = result.summary
    out.append(
        f"Scanned {s.python_files} Python file(s) ({s.python_files_parsed} parsed), "
        f"{s.schema_files} schema file(s) with {s.tables} table(s); dialect {result.dialect}."
    )
    out.append(coverage_line(result) + ".")
    if s.baselined:
        out.append(f"{s.baselined} finding(s) already in the baseline.")
    if s.suppressed:
        out.append(f"{s.suppressed} finding(s) suppressed by inline comments.")
    if result.findings:
        by_severity = ", ".join(f"{n} {sev}" for sev, n in result.summary.findings_by_severity.items())
        out.append(f"Found {len(result.findings)} finding(s): {by_severity}.")
    elif s.write_sites and s.checked < s.write_sites:
        out.append(f"No findings in the {s.checked} checked write site(s); {s.write_sites - s.checked} were not checked.")
    else:
        out.append("No findings.")
    return "\n".join(out) + "\n"
