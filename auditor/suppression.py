"""Inline suppression: `# upsert-audit: ignore[UPS001]` on the flagged line.

A comment at the end of a line covers that line; a comment alone on its line
covers the next line. Without brackets it covers every rule. A suppression that
covers no finding is reported (like Ruff's RUF100), so stale ones do not pile up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from auditor.findings import Finding

MARKER = b"upsert-audit:"
_COMMENT = re.compile(rb"#[ \t]*upsert-audit:[ \t]*ignore(?:\[(?P<rules>[^\]\n]*)\])?")


@dataclass(frozen=True)
class Suppression:
    path: str
    line: int  # where the comment is
    target_line: int  # the line it covers
    rules: frozenset[str] | None  # None: every rule

    def covers(self, finding: Finding) -> bool:
        return (
            finding.location.path == self.path
            and finding.location.line == self.target_line
            and (self.rules is None or finding.rule in self.rules)
        )

    def __str__(self) -> str:
        which = ", ".join(sorted(self.rules)) if self.rules is not None else "all rules"
        return f"{self.path}:{self.line}: suppression of {which} matches no finding"


def find_suppressions(path: str, data: bytes) -> list[Suppression]:
    """Suppression comments in one file's bytes (callers check MARKER first: it is cheap)."""
    found = []
    for match in _COMMENT.finditer(data):
        line_start = data.rfind(b"\n", 0, match.start()) + 1
        line = data.count(b"\n", 0, match.start()) + 1
        own_line = not data[line_start : match.start()].strip()
        rules = match.group("rules")
        parsed = frozenset(r.strip().decode("ascii", "replace").upper() for r in rules.split(b",") if r.strip()) if rules is not None else None
        found.append(Suppression(path, line, line + 1 if own_line else line, parsed))
    return found


def apply_suppressions(findings: list[Finding], suppressions: list[Suppression]) -> tuple[list[Finding], list[Finding], list[Suppression]]:
    """(kept, suppressed, unused suppressions)."""
    kept, suppressed, used = [], [], set()
    for finding in findings:
        covering = [s for s in suppressions if s.covers(finding)]
        if covering:
            suppressed.append(finding)
            used.update(covering)
        else:
            kept.append(finding)
    return kept, suppressed, [s for s in suppressions if s not in used]
