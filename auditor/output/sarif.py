"""`--format sarif`: SARIF 2.1.0 for GitHub code scanning and other SARIF consumers.

Rules carry their docs (help text and Markdown), results carry stable
`partialFingerprints`, the SQL's origin and the schema evidence as related
locations, and what could not be read as tool notifications.
"""

from __future__ import annotations

import json

from auditor import __version__
from auditor.engine import AuditResult
from auditor.findings import Finding
from auditor.fingerprint import fingerprints
from auditor.model import LIVE_DATABASE, Location, Severity
from auditor.rulebook import Rule

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def _first_sentence(text: str) -> str:
    flat = " ".join(text.split())
    return flat.split(". ")[0].rstrip(".") + "."


def rule_descriptor(rule: Rule) -> dict:
    return {
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": _first_sentence(rule.what)},
        "fullDescription": {"text": " ".join(rule.what.split())},
        "help": {"text": " ".join(rule.why.split()), "markdown": rule.docs_markdown()},
        "defaultConfiguration": {"level": LEVEL[rule.severity]},
        "properties": {"tags": ["database", "upsert", *rule.dialects], "fix": rule.fix_safety.value},
    }


def _physical(location: Location, message: str | None = None, index: int | None = None) -> dict:
    entry = {
        "physicalLocation": {
            "artifactLocation": {"uri": location.path, "uriBaseId": "%SRCROOT%"},
            "region": {"startLine": max(location.line, 1), "startColumn": max(location.column, 1)},
        }
    }
    if index is not None:
        entry["id"] = index
    if message:
        entry["message"] = {"text": message}
    return entry


def result_record(finding: Finding, fingerprint: str, rule_index: int) -> dict:
    related = []
    if finding.sql_origin:
        related.append(_physical(finding.sql_origin, "the SQL is written here", len(related)))
    for place in finding.through:
        related.append(_physical(place, "the project's helper runs the SQL here" if place == finding.through[-1] else "through the project's helper", len(related)))
    for evidence in finding.evidence:
        if evidence.origin and evidence.origin.path != LIVE_DATABASE:
            related.append(_physical(evidence.origin, evidence.description, len(related)))
    text = finding.message + ". Fix: " + finding.fix + (f"\n{finding.fix_code}" if finding.fix_code else "")
    record = {
        "ruleId": finding.rule,
        "ruleIndex": rule_index,
        "level": LEVEL[finding.severity],
        "message": {"text": text},
        "locations": [_physical(finding.location)],
        "partialFingerprints": {"upsertAudit/v1": fingerprint},
    }
    if related:
        record["relatedLocations"] = related
    return record


def render_sarif(result: AuditResult) -> str:
    rules = result.rules
    index = {r.id: i for i, r in enumerate(rules)}
    run = {
        "tool": {
            "driver": {
                "name": "upsert-audit",
                "version": __version__,
                "semanticVersion": __version__,
                "rules": [rule_descriptor(r) for r in rules],
            }
        },
        "originalUriBaseIds": {"%SRCROOT%": {"uri": result.config.root.as_uri() + "/"}},
        "results": [result_record(f, fp, index[f.rule]) for f, fp in zip(result.findings, fingerprints(result.findings))],
        "invocations": [
            {
                "executionSuccessful": True,
                "toolExecutionNotifications": [
                    {
                        "level": "warning",
                        "message": {"text": f"{d.kind}: {d.message}"},
                        "locations": [_physical(Location(d.path, d.line or 1))],
                    }
                    for d in result.diagnostics
                ],
            }
        ],
    }
    return json.dumps({"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}, indent=2) + "\n"
