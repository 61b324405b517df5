"""Adopting the tool on an existing codebase: record today's findings, report only new ones.

`check --baseline FILE` writes FILE when it does not exist yet (every current
finding, by fingerprint) and from then on drops the findings it lists. Findings
are matched by fingerprint, so edits elsewhere in a file do not resurface them.
"""

from __future__ import annotations

import json
from pathlib import Path

from auditor.findings import Finding
from auditor.fingerprint import VERSION, fingerprints


class BaselineError(Exception):
    pass


def read_baseline(path: Path) -> set[str]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        if document.get("version") != VERSION:
            raise BaselineError(f"{path}: baseline version {document.get('version')!r}, expected {VERSION!r}; write it again")
        return {entry["fingerprint"] for entry in document["findings"]}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise BaselineError(f"{path}: not a readable upsert-audit baseline ({error})") from None


def write_baseline(path: Path, findings: list[Finding]) -> None:
    entries = [
        {"fingerprint": fp, "rule": f.rule, "path": f.location.path, "message": f.message}
        for fp, f in zip(fingerprints(findings), findings)
    ]
    text = json.dumps({"version": VERSION, "findings": entries}, indent=2) + "\n"
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)  # never a half-written baseline


def new_findings(findings: list[Finding], known: set[str]) -> list[Finding]:
    return [f for fp, f in zip(fingerprints(findings), findings) if fp not in known]
