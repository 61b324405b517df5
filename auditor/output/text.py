"""Default output: one block per finding, then diagnostics and an honest summary.

On a terminal the findings are coloured and each shows a code frame (rich, loaded
only then); piped, the output is plain text whose lines tools can parse.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from auditor.engine import AuditResult
from auditor.findings import Finding
from auditor.model import Severity

SEVERITY_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}


def code_frame(root: Path, finding: Finding) -> list[str]:
    """The flagged source line with a caret under the column, or nothing if unreadable."""
    try:
        with open(root / finding.location.path, encoding="utf-8", errors="replace") as handle:
            for number, text in enumerate(handle, 1):
                if number == finding.location.line:
                    gutter = f"{number:>6} | "
                    return [gutter + text.rstrip("\n"), " " * (len(gutter) - 2) + "| " + " " * (finding.location.column - 1) + "^"]
    except OSError:
        pass
    return []


def finding_block(finding: Finding) -> list[str]:
    lines = [f"{finding.location}: {finding.rule} [{finding.severity}] {finding.name}: {finding.message}"]
    if finding.sql_origin:
        lines.append(f"    SQL written at {finding.sql_origin}")
    if finding.through:
        lines.append("    run by the project's helper at " + " -> ".join(map(str, finding.through)))
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
        f"{s.checked} checked" + (f" ({s.partly_known} with a part built at run time, checked on the rest)" if s.partly_known else ""),
    ]
    if s.unresolved:
        parts.append(f"{s.unresolved} unresolved (SQL not a constant)")
    if s.unparsed:
        parts.append(f"{s.unparsed} unparsed")
    if s.unknown_tables:
        parts.append(f"{len(s.unknown_tables)} unknown table(s): {', '.join(s.unknown_tables)}")
    if s.idioms or s.idioms_unchecked:
        parts.append(f"{s.idioms} read-then-write idiom(s) checked, {s.idioms_unchecked} not checked")
    return "; ".join(parts)


TERMINAL_GROUPS = 5  # reasons shown on the terminal; the JSON and the report have them all


def unchecked_lines(result: AuditResult) -> list[str]:
    """What was not checked, by reason: count, first places, and what would resolve it."""
    groups = result.unchecked_groups
    if not groups:
        return []
    lines = [f"Not checked, by reason ({sum(g.count for g in groups)} in all):"]
    for group in groups[:TERMINAL_GROUPS]:
        more = ", …" if group.count > len(group.places) else ""
        lines.append(f"  {group.count} {group.what}(s): {group.reason}")
        lines.append(f"      at {', '.join(str(p) for p in group.places)}{more}")
        lines.append(f"      to resolve: {group.remedy}")
    if len(groups) > TERMINAL_GROUPS:
        lines.append(f"  and {len(groups) - TERMINAL_GROUPS} more reason(s): see `--format json` (unchecked) or the report")
    return lines


def _colour(lines: list[tuple[str, str | None]]) -> str:
    import io

    from rich.console import Console
    from rich.text import Text

    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=10_000, highlight=False, soft_wrap=True)
    for text, style in lines:
        console.print(Text(text, style=style or ""))
    return buffer.getvalue()


def summary_lines(result: AuditResult) -> list[str]:
    """What was read, what was checked and what was not, and the findings' count: the end of
    every text run, and what `upsert-audit init` prints after writing the configuration."""
    lines: list[str] = []
    if not result.schema_found:
        lines.append(
            "warning: no schema found (no .sql schema or migration files under the project, and no --schema): "
            "write sites could not be checked against unique keys"
        )
    s = result.summary
    if result.schema_found and result.nothing_checked:
        lines.append(
            f"warning: {s.write_sites + s.idioms_unchecked} write(s) found and none could be checked "
            "(the reasons are below): the audit has not passed"
        )
    schema = "the live database" if result.config.database_url else f"{s.schema_files} schema file(s)"
    lines.append(
        f"Scanned {s.python_files} Python file(s) ({s.python_files_parsed} parsed, {s.python_files_cached} from cache), "
        f"{schema} with {s.tables} table(s); dialect {result.dialect}."
    )
    lines.append(coverage_line(result) + ".")
    if s.tests_without_idioms:
        lines.append(f"Race idioms in {s.tests_without_idioms} test file(s) not read (idioms-in-tests = true reads them).")
    lines.extend(unchecked_lines(result))
    if s.baselined:
        lines.append(f"{s.baselined} finding(s) already in the baseline.")
    if s.suppressed:
        lines.append(f"{s.suppressed} finding(s) suppressed by inline comments.")
    if result.findings:
        counts = Counter(f.severity for f in result.findings)
        by_severity = ", ".join(f"{counts[sev]} {sev}" for sev in sorted(counts, reverse=True))
        lines.append(f"Found {len(result.findings)} finding(s): {by_severity}.")
    elif s.write_sites and s.checked < s.write_sites:
        lines.append(f"No findings in the {s.checked} checked write site(s); {s.write_sites - s.checked} were not checked.")
    else:
        lines.append("No findings.")
    return lines


def render_text(result: AuditResult, terminal: bool = False) -> str:
    """Plain text; with `terminal`, coloured and with code frames."""
    styled: list[tuple[str, str | None]] = []
    for finding in result.findings:
        block = finding_block(finding)
        styled.append((block[0], SEVERITY_STYLE[finding.severity] if terminal else None))
        if terminal:
            styled.extend((line, "dim") for line in code_frame(result.config.root, finding))
        styled.extend((line, None) for line in block[1:])
        styled.append(("", None))
    out = [text for text, _ in styled]
    for diagnostic in result.diagnostics:
        out.append(f"warning: {diagnostic}")
    for suppression in result.unused_suppressions:
        out.append(f"warning: {suppression}")
    if result.diagnostics or result.unused_suppressions:
        out.append("")
    out.extend(summary_lines(result))
    if terminal:
        return _colour(styled + [(line, None) for line in out[len(styled):]])
    return "\n".join(out) + "\n"
