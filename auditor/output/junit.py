"""`--format junit`: JUnit XML for CI test reports (GitLab `artifacts: reports: junit:`, Jenkins,
Azure Pipelines), valid against the Jenkins xunit plugin's junit-10.xsd.

One <testsuite> per rule that found something, and a <testcase> per finding: with a <failure>
when the finding fails the run (at or above `fail-on`), else passed, the finding in its output.
Per rule, not per file: the tools group and name tests by classname (Jenkins as package.class,
GitLab in its "Suite" column), so `upsert-audit.UPS001` gathers a rule's failures under the id
users select, ignore and suppress by; the suites stay as few as the rules, not as many as the
files; and each failure carries its own location, message and fix anyway. A test's name is its
file and the finding's fingerprint, not its line: GitLab and Jenkins follow a test across
pipelines by its names, and an edit above a known finding must not make it a "new failure".

What the audit could not check or read is a last suite of <skipped> testcases, one per reason
and per diagnostic: visible in every tool, and (like the exit code) not a failure.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from itertools import groupby

from auditor.engine import AuditResult
from auditor.findings import Finding
from auditor.fingerprint import fingerprints
from auditor.output.not_checked import NotChecked, not_checked
from auditor.output.text import finding_block

NOT_CHECKED_SUITE = "upsert-audit: not checked"

# XML 1.0 cannot hold these code points at all, not even as character references.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def xml_text(text: str) -> str:
    """`text` with the code points XML cannot carry written as visible escapes (`\\x07`)."""
    return _NOT_XML.sub(_visible, text)


def _element(tag: str, text: str | None = None, **attributes: str) -> ET.Element:
    element = ET.Element(tag, {k: xml_text(v) for k, v in attributes.items()})
    if text is not None:
        element.text = xml_text(text)
    return element


def _suite(name: str, cases: list[ET.Element]) -> ET.Element:
    suite = _element(
        "testsuite", name=name, tests=str(len(cases)),
        failures=str(sum(c.find("failure") is not None for c in cases)), errors="0",
        skipped=str(sum(c.find("skipped") is not None for c in cases)),
    )
    suite.extend(cases)
    return suite


def finding_case(finding: Finding, fingerprint: str, failing: bool) -> ET.Element:
    """A failed test for a finding that fails the run; below `fail-on`, a passed one that still
    carries the finding as its output, so a CI test report fails exactly when the exit code does."""
    block = finding_block(finding)
    text = "\n".join(block + [f"    fingerprint: {fingerprint}"])
    case = _element("testcase", classname=f"upsert-audit.{finding.rule}", name=f"{finding.location.path} [{fingerprint}]")
    if failing:
        case.append(_element("failure", text, message=block[0], type=str(finding.severity)))
    else:
        case.append(_element("system-out", f"{finding.severity} (below fail-on): {text}"))
    return case


def not_checked_case(entry: NotChecked) -> ET.Element:
    case = _element("testcase", classname=f"upsert-audit.{entry.check}", name=entry.name)
    case.append(_element("skipped", entry.detail, message=entry.title, type=entry.check))
    return case


def junit_tree(result: AuditResult) -> ET.Element:
    pairs = sorted(zip(result.findings, fingerprints(result.findings)), key=lambda p: (p[0].rule, p[0].location))
    suites = []
    for rule, group in groupby(pairs, key=lambda p: p[0].rule):
        group = list(group)
        cases = [finding_case(f, fp, f.severity >= result.config.fail_on) for f, fp in group]
        suites.append(_suite(f"{rule} {group[0][0].name}", cases))
    entries = not_checked(result)
    if entries:
        suites.append(_suite(NOT_CHECKED_SUITE, [not_checked_case(e) for e in entries]))
    root = _element(
        "testsuites", name="upsert-audit",
        tests=str(sum(int(s.get("tests")) for s in suites)),
        failures=str(sum(int(s.get("failures")) for s in suites)), errors="0",
    )
    root.extend(suites)
    return root


def render_junit(result: AuditResult) -> str:
    root = junit_tree(result)
    ET.indent(root)
    # Non-ASCII as character references: the bytes are the same whatever stdout's encoding.
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="us-ascii").decode("ascii") + "\n"
