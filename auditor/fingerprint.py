"""Stable finding fingerprints: the same finding keeps its fingerprint across unrelated edits.

No line numbers: a fingerprint is a hash of the rule, the file, the table and the
SQL text (whitespace collapsed), like Semgrep's match-based ids and Ruff's GitLab
fingerprints. Identical findings in one file get an occurrence number, in source
order, so two copies of one bad statement are two baseline entries.
"""

from __future__ import annotations

import hashlib
from collections import Counter

from auditor.findings import Finding

VERSION = "v1"


def _base(finding: Finding) -> str:
    sql = " ".join((finding.sql or finding.message).split())
    key = "\x1f".join([finding.rule, finding.location.path, finding.table or "", sql])
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def fingerprints(findings: list[Finding]) -> list[str]:
    """One fingerprint per finding, in the order given (occurrences counted in source order)."""
    order = sorted(range(len(findings)), key=lambda i: (findings[i].location, findings[i].rule))
    seen: Counter[str] = Counter()
    result = [""] * len(findings)
    for i in order:
        base = _base(findings[i])
        result[i] = f"{base}:{seen[base]}"
        seen[base] += 1
    return result
