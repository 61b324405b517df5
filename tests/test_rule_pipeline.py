"""Every rule example, audited through the whole pipeline as a user's project.

The example's schema becomes the project's schema file and its statement is
handed to a driver's execute() in a Python module (or the example's own Python
snippet is used). An invalid example must be reported by its rule at the
execute call; a valid one must not be.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.config import load_config
from auditor.engine import run_audit
from auditor.rulebook import IdiomRule, builtin_rules
from auditor.sites import SiteStatus

DRIVER_CODE = {
    "postgres": "import psycopg\n\n\ndef write(conn):\n    with conn.cursor() as cur:\n        cur.execute({sql!r})\n",
    "sqlite": "import sqlite3\n\n\ndef write(conn):\n    conn.execute({sql!r})\n",
    "mysql": "import pymysql\n\n\ndef write(conn):\n    with conn.cursor() as cur:\n        cur.execute({sql!r})\n",
}
CALL_LINE = {"postgres": 6, "sqlite": 5, "mysql": 6}


def cases():
    # Idiom rules' examples are whole projects already (tests/rules/test_rule_examples.py).
    for rule in (r for r in builtin_rules() if not isinstance(r, IdiomRule)):
        for kind in ("valid", "invalid"):
            examples = [e for e in rule.examples if e.valid == (kind == "valid")]
            for index, example in enumerate(examples):
                for dialect in example.dialects:
                    yield pytest.param(rule, example, dialect, id=f"{rule.id}-{kind}-{index}-{dialect}")


@pytest.mark.parametrize(("rule", "example", "dialect"), list(cases()))
def test_example_through_the_pipeline(tmp_path: Path, rule, example, dialect):
    (tmp_path / "schema.sql").write_text(example.schema)
    code = example.python or DRIVER_CODE[dialect].format(sql=example.sql)
    (tmp_path / "app.py").write_text(code)

    result = run_audit(load_config(tmp_path, dialect=dialect))

    if rule.statuses == (SiteStatus.CHECKED,):
        assert result.summary.checked >= 1, (result.summary, result.diagnostics)
    hits = [f for f in result.findings if f.rule == rule.id]
    if example.valid:
        assert hits == [], [f.message for f in hits]
    else:
        assert hits, f"{rule.id} did not fire; findings: {[(f.rule, f.message) for f in result.findings]}"
        if example.python is None:
            assert {(f.location.path, f.location.line) for f in hits} == {("app.py", CALL_LINE[dialect])}
