"""`--format json`: one object, stable keys, paths relative to the project root."""

from __future__ import annotations

import json
from dataclasses import asdict

from auditor import __version__
from auditor.engine import AuditResult
from auditor.findings import Finding
from auditor.fingerprint import fingerprints
from auditor.model import Location


def _location(location: Location | None) -> dict | None:
    return None if location is None else {"path": location.path, "line": location.line, "column": location.column}


def finding_record(finding: Finding, fingerprint: str) -> dict:
    return {
        "fingerprint": fingerprint,
        "rule": finding.rule,
        "name": finding.name,
        "severity": str(finding.severity),
        "path": finding.location.path,
        "line": finding.location.line,
        "column": finding.location.column,
        "message": finding.message,
        "fix": finding.fix,
        "fix_safety": finding.fix_safety.value,
        "fix_code": finding.fix_code,
        "table": finding.table,
        "sql": finding.sql,
        "sql_origin": _location(finding.sql_origin),
        "evidence": [{"description": e.description, "origin": _location(e.origin)} for e in finding.evidence],
    }


def render_json(result: AuditResult) -> str:
    document = {
        "tool": {"name": "upsert-audit", "version": __version__},
        "dialect": result.dialect,
        "schema_sources": result.catalog.sources,
        "findings": [finding_record(f, fp) for f, fp in zip(result.findings, fingerprints(result.findings))],
        "summary": asdict(result.summary),
        "unused_suppressions": [{"path": s.path, "line": s.line, "rules": sorted(s.rules) if s.rules else None} for s in result.unused_suppressions],
        "diagnostics": [
            {"path": d.path, "line": d.line, "kind": d.kind, "message": d.message} for d in result.diagnostics
        ],
    }
    return json.dumps(document, indent=2, sort_keys=False) + "\n"
