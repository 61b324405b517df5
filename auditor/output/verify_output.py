"""Renderers for `upsert-audit verify`: text for people, JSON for machines."""

from __future__ import annotations

import json
from collections import Counter

from auditor.verify import Verification


def _counts(verification: Verification) -> dict[str, int]:
    counts = Counter(v.probe.status for v in verification.verdicts)
    return {status: counts[status] for status in ("fails", "plans fine", "not checked")}


def render_verify_text(verification: Verification) -> str:
    out: list[str] = []
    if verification.contradictions:
        out.append("CONTRADICTIONS between the static audit and the live database:")
        for verdict in verification.contradictions:
            out.append(f"  {verdict.site.location}: {verdict.contradiction}")
            if verdict.probe.error:
                out.append(f"    database: {verdict.probe.error}")
        out.append("")
    for verdict in verification.verdicts:
        probe = verdict.probe
        line = f"{verdict.site.location}: {probe.status}"
        if probe.status == "fails":
            line += f" [{probe.sqlstate}] {probe.error}"
        elif probe.status == "not checked":
            line += f" ({probe.error})"
        if verdict.findings:
            line += f"  (static: {', '.join(f.rule for f in verdict.findings)})"
        out.append(line)
    if verification.drift:
        out.append("")
        out.append("Schema drift (the live database and the schema files disagree):")
        for drift in verification.drift:
            where = f"  ({drift.origin})" if drift.origin else ""
            out.append(f"  {drift.table}: {drift.key}: {drift.where}{where}")
    counts = _counts(verification)
    out.append("")
    out.append(
        f"Verified {len(verification.verdicts)} write site(s) against the live {verification.dialect} database: "
        f"{counts['fails']} fail, {counts['plans fine']} plan fine, {counts['not checked']} not checked; "
        f"{len(verification.contradictions)} contradiction(s), {len(verification.drift)} drifted key(s)."
    )
    return "\n".join(out) + "\n"


def render_verify_json(verification: Verification) -> str:
    document = {
        "dialect": verification.dialect,
        "sites": [
            {
                "path": v.site.location.path,
                "line": v.site.location.line,
                "column": v.site.location.column,
                "status": v.probe.status,
                "error": v.probe.error,
                "sqlstate": v.probe.sqlstate,
                "static_findings": [f.rule for f in v.findings],
                "contradiction": v.contradiction,
            }
            for v in verification.verdicts
        ],
        "drift": [
            {"table": d.table, "key": d.key, "where": d.where, "origin": str(d.origin) if d.origin else None}
            for d in verification.drift
        ],
        "summary": {**_counts(verification), "contradictions": len(verification.contradictions), "drift": len(verification.drift)},
    }
    return json.dumps(document, indent=2) + "\n"
