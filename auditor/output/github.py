"""`--format github`: GitHub Actions workflow commands, one annotation per finding."""

from __future__ import annotations

from auditor.engine import AuditResult
from auditor.model import Severity

COMMAND = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(result: AuditResult) -> str:
    lines = []
    for f in result.findings:
        location = f"file={_property(f.location.path)},line={f.location.line},col={f.location.column}"
        title = _property(f"{f.rule} {f.name}")
        lines.append(f"::{COMMAND[f.severity]} {location},title={title}::{_data(f.message + '. Fix: ' + f.fix + (chr(10) + f.fix_code if f.fix_code else ''))}")
    for d in result.diagnostics:
        where = f"file={_property(d.path)}" + (f",line={d.line}" if d.line else "")
        lines.append(f"::warning {where},title={_property('upsert-audit ' + d.kind)}::{_data(d.message)}")
    return "\n".join(lines) + ("\n" if lines else "")
