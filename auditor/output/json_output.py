"""`--format json`: one object, stable keys, paths relative to the project root."""

from __future__ import annotations

import json
from dataclasses import asdict

from auditor import __version__
from auditor.engine import AuditResult
from auditor.findings import Finding
from auditor.fingerprint import fingerprints
from auditor.model import Location
from auditor.sql.holes import shown


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
        "through": [_location(t) for t in finding.through],
        "evidence": [{"description": e.description, "origin": _location(e.origin)} for e in finding.evidence],
    }


def site_records(result: AuditResult) -> list[dict]:
    """Every write site and idiom the audit found, with what became of it: a user (or the
    corpus score) can see what was checked and why the rest was not."""
    records = [
        {
            "path": s.location.path, "line": s.location.line, "column": s.location.column,
            "kind": "statement", "api": s.call.api, "status": s.status.value,
            "table": str(s.statement.table) if s.statement else None,
            "detail": s.detail, "sql": shown(s.call.sql), "sql_origin": _location(s.call.origin), "through": [_location(t) for t in s.call.through],
        }
        for s in result.sites
    ]
    records += [
        {
            "path": i.location.path, "line": i.location.line, "column": i.location.column,
            "kind": i.kind.value, "api": i.call.api, "status": "checked", "table": str(i.insert.table if i.insert else i.table),
            "detail": None, "sql_origin": _location(i.call.guard_location),
        }
        for i in result.idiom_sites
    ]
    records += [
        {
            "path": u.location.path, "line": u.location.line, "column": u.location.column,
            "kind": u.call.kind.value, "api": u.call.api, "status": "unchecked" if u.upsert else "not an upsert",
            "table": None, "detail": u.reason, "sql_origin": _location(u.call.guard_location),
        }
        for u in result.unchecked_idioms
    ]
    return sorted(records, key=lambda r: (r["path"], r["line"], r["column"]))


def render_json(result: AuditResult) -> str:
    document = {
        "tool": {"name": "upsert-audit", "version": __version__},
        "dialect": result.dialect,
        "schema_sources": result.catalog.sources,
        "findings": [finding_record(f, fp) for f, fp in zip(result.findings, fingerprints(result.findings))],
        "summary": asdict(result.summary),
        "sites": site_records(result),
        "unchecked": [
            {"what": g.what, "reason": g.reason, "count": g.count, "places": [_location(p) for p in g.places], "remedy": g.remedy}
            for g in result.unchecked_groups
        ],
        "unused_suppressions": [{"path": s.path, "line": s.line, "rules": sorted(s.rules) if s.rules else None} for s in result.unused_suppressions],
        "diagnostics": [
            {"path": d.path, "line": d.line, "kind": d.kind, "message": d.message} for d in result.diagnostics
        ],
    }
    return json.dumps(document, indent=2, sort_keys=False) + "\n"
