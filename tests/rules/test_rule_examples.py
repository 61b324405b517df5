"""Every rule's own examples become tests (Fixit's model), twice over:

* static: the rule reports every invalid example and no valid one;
* oracle: the real database does with every invalid example what the rule claims
  (rulebook.CLAIMS: rejects it with the declared error code and message, duplicates,
  skips, overwrites, swallows an error, returns nothing), and with every valid one it
  does not.
"""

from __future__ import annotations

import ast
import re

import pytest

from auditor.config import load_config
from auditor.engine import run_audit
from auditor.model import Location
from auditor.resources import rules_dir
from auditor.rulebook import CLAIMS, REQUIRED_ATTRIBUTES, IdiomRule, builtin_rules
from auditor.schema import catalog_from_sql
from auditor.engine import write_sites
from auditor.python import scan_python_files
from auditor.sites import SiteStatus, SqlCall
from auditor.sql.statement import parse_write_statements

from rule_oracle import Rejected, database, scalar

psycopg = pytest.importorskip("psycopg")

RULES = builtin_rules()


def cases():
    for rule in RULES:
        for kind in ("valid", "invalid"):
            for index, example in enumerate(e for e in rule.examples if e.valid == (kind == "valid")):
                for dialect in example.dialects:
                    yield pytest.param(rule, example, dialect, id=f"{rule.id}-{kind}-{index}-{dialect}")


CASES = list(cases())
STATEMENT_CASES = [c for c in CASES if not isinstance(c.values[0], IdiomRule)]
IDIOM_CASES = [c for c in CASES if isinstance(c.values[0], IdiomRule)]


def example_call(example, tmp_path) -> SqlCall:
    """The example's statement as an execute call; an example with its own Python is read
    by the real extractor (the rule may depend on what the code does with the call)."""
    if example.python is None:
        return SqlCall(Location("example.py", 1), "execute", example.sql)
    (tmp_path / "example.py").write_text(example.python)
    scan = scan_python_files(tmp_path, [tmp_path / "example.py"], use_cache=False)
    [call] = [c for c in scan.calls if c.sql is not None]
    return call


@pytest.mark.parametrize(("rule", "example", "dialect"), STATEMENT_CASES)
def test_rule_reports_exactly_the_invalid_examples(rule, example, dialect, tmp_path):
    catalog = catalog_from_sql(example.schema, dialect)
    assert catalog.diagnostics == []
    [site] = write_sites(example_call(example, tmp_path), dialect, catalog)
    assert site.status in rule.statuses or example.valid, site.detail
    table = catalog.lookup(site.statement.table) if site.status is SiteStatus.CHECKED else None
    findings = list(rule.findings(site, table))
    if example.valid:
        assert findings == []
    else:
        assert len(findings) == 1
        assert findings[0].rule == rule.id and findings[0].evidence


@pytest.mark.parametrize(("rule", "example", "dialect"), IDIOM_CASES)
def test_idiom_rule_reports_exactly_the_invalid_examples(rule, example, dialect, make_project):
    """An idiom spans statements and may use ORM models: the example is a whole project (its
    code in an app's models.py, where Django looks for models), audited end to end."""
    files = {"app/models.py": example.python, "pyproject.toml": f'[tool.upsert-audit]\ndialect = "{dialect}"\n'}
    if example.schema:
        files["schema.sql"] = example.schema
    result = run_audit(load_config(make_project(files)))
    assert result.diagnostics == []
    findings = [f for f in result.findings if f.rule == rule.id]
    if example.valid:
        assert findings == []
    else:
        assert len(findings) == 1, [f.message for f in result.findings]
        assert findings[0].evidence and findings[0].fix


def _statement_table(example, dialect: str) -> str:
    [statement], _ = parse_write_statements(example.sql, dialect)
    return str(statement.table)


@pytest.mark.parametrize(("rule", "example", "dialect"), STATEMENT_CASES)
def test_database_does_what_the_rule_claims(rule, example, dialect, request, tmp_path):
    """The rule's claim (rulebook.CLAIMS), checked on the real database: an invalid example
    does what the claim says, a valid one runs and does not."""
    claim = example.claim or rule.claim
    with database(dialect, example, request, tmp_path) as db:
        if claim == "fails":
            outcome = db.run(example.sql, example.params)
            if example.valid:
                assert not isinstance(outcome, Rejected), f"the database rejected a valid example: {outcome.error}"
            else:
                assert isinstance(outcome, Rejected), "the database ran an invalid example"
                assert example.error(dialect).matches(outcome.code, outcome.message), f"declared {example.error(dialect)}, got {outcome}"
            return
        if claim in ("unchecked", "races"):  # a race needs two sessions: tests/runtime/test_race_idioms.py
            outcome = db.run(example.sql, example.params)
            assert not isinstance(outcome, Rejected), f"the database rejected the example: {outcome.error}"
            return
        if claim == "swallows" and not example.valid:
            strict = db.run(example.strict_sql)
            assert isinstance(strict, Rejected), "the database ran the strict form"
            assert example.error(dialect).matches(strict.code, strict.message), f"declared {example.error(dialect)}, got {strict}"
        table = _statement_table(example, dialect)
        count = f"SELECT count(*) FROM {table}"
        before = scalar(db, example.observe or count)
        outcome = db.run(example.sql, example.params)
        assert not isinstance(outcome, Rejected), f"the database rejected the example: {outcome.error}"
        first = scalar(db, example.observe or count)
        if claim == "duplicates":
            again = db.run(example.sql, example.params)
            assert not isinstance(again, Rejected), again.error
            second = scalar(db, count)
            assert (second == first) if example.valid else (second > first), f"rows: {before}, {first}, {second}"
        elif claim == "skips":
            assert (first == before + 1) if example.valid else (first == before), f"rows: {before}, {first}"
        elif claim == "overwrites":
            assert (first == before) if example.valid else (first != before), f"{example.observe}: {before} -> {first}"
        elif claim == "returns-nothing":
            assert bool(outcome) if example.valid else outcome == [], outcome
        # "swallows": the statement ran, and its strict form was rejected above.


def test_every_rule_is_complete():
    files = sorted(p.stem for p in rules_dir().glob("ups*.py"))
    assert [r.id.lower() for r in RULES] == [f.split("_")[0] for f in files]
    assert len({r.id for r in RULES}) == len(RULES) and len({r.name for r in RULES}) == len(RULES)
    for rule in RULES:
        for attribute in REQUIRED_ATTRIBUTES:
            assert getattr(rule, attribute), f"{rule.id} lacks {attribute}"
        assert re.fullmatch(r"[a-z]+(-[a-z]+)+", rule.name)
        assert any(e.valid for e in rule.examples) and any(not e.valid for e in rule.examples)
        # A rule claims failures only where it applies; a valid example may also run on a
        # dialect outside the rule, to show the database there accepts the statement.
        assert set(d for e in rule.examples if not e.valid for d in e.dialects) <= set(rule.dialects)
        for example in rule.examples:
            claim = example.claim or rule.claim
            assert claim in CLAIMS, rule.id
            if not example.valid and claim in ("fails", "swallows"):  # the code and message the rule page prints
                for dialect in example.dialects:
                    assert example.error(dialect), f"{rule.id}: an invalid example declares no {dialect} error code and message"
            if claim == "overwrites":
                assert example.observe, rule.id
            if claim == "swallows" and not example.valid:
                assert example.strict_sql, rule.id
        assert rule.claim in CLAIMS
        docs = rule.docs_markdown()
        for section in ("### What it does", "### Why is this bad?", "### Example", "### Use instead"):
            assert section in docs


def test_rules_import_only_the_auditor_package():
    """Rule files are loaded by path from the installed package data (rulebook.load_rules), where
    `rules` is no importable package: shared code lives in `auditor`, never in another rule
    (a rule importing one passed here and failed in the installed wheel and the hook)."""
    for path in rules_dir().glob("ups*.py"):
        imports = [n for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, (ast.Import, ast.ImportFrom))]
        top = {(n.module or "").split(".")[0] if isinstance(n, ast.ImportFrom) else a.name.split(".")[0] for n in imports for a in n.names}
        assert "rules" not in top, path.name
