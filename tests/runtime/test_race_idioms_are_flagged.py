"""The code test_race_idioms.py races on the real databases is the code the rules flag.

Each module of race_idioms/ is audited as a project (with and without the unique key);
every racing function must be reported by exactly its rule, and the fix (upsert_record)
by none, or by UPS001 when the key it needs is missing.
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest

from auditor.config import load_config
from auditor.engine import run_audit
from auditor.rulebook import builtin_rules

IDIOMS = Path(__file__).parent / "race_idioms"

# function in race_idioms/*.py -> the rule whose claim its race proves
RACED = {
    "check_then_insert": "UPS101",
    "update_then_insert": "UPS102",
    "insert_except_integrity_error": "UPS103",
    "delete_then_insert": "UPS104",
    "merge_upsert": "UPS106",
    "insert_where_not_exists": "UPS107",
}
# Reported only without the unique key: with it the racing writer gets a unique violation in
# the one statement it runs, and that is what the key is for.
ONLY_WITHOUT_KEY = {"insert_where_not_exists"}
SCHEMA = {
    "psycopg": "CREATE TABLE avatars (id serial PRIMARY KEY, user_id int NOT NULL{unique}, persona text);",
    "sqlite": "CREATE TABLE avatars (id integer PRIMARY KEY, user_id int NOT NULL{unique}, persona text);",
    "pymysql": "CREATE TABLE avatars (id int AUTO_INCREMENT PRIMARY KEY, user_id int NOT NULL{unique}, persona varchar(40));",
}
DIALECT = {"psycopg": "postgres", "sqlite": "sqlite", "pymysql": "mysql"}


def function_at(tree: ast.Module, line: int) -> str:
    return next(f.name for f in tree.body if isinstance(f, ast.FunctionDef) and f.lineno <= line <= f.end_lineno)


@pytest.mark.parametrize("unique", [True, False], ids=["unique-key", "no-key"])
@pytest.mark.parametrize("driver", sorted(SCHEMA))
def test_every_raced_function_is_flagged_by_its_rule(driver, unique, tmp_path):
    module = IDIOMS / f"{driver}_idioms.py"
    shutil.copy(module, tmp_path / "idioms.py")
    (tmp_path / "schema.sql").write_text(SCHEMA[driver].format(unique=" UNIQUE" if unique else ""))
    (tmp_path / "pyproject.toml").write_text(f'[tool.upsert-audit]\ndialect = "{DIALECT[driver]}"\n')
    tree = ast.parse(module.read_text())
    found: dict[str, set[str]] = {}
    for finding in run_audit(load_config(tmp_path, cache=False)).findings:
        found.setdefault(function_at(tree, finding.location.line), set()).add(finding.rule)
    expected = {
        name: {rule} for name, rule in RACED.items()
        if any(f.name == name for f in tree.body if isinstance(f, ast.FunctionDef)) and not (unique and name in ONLY_WITHOUT_KEY)
    }
    if not unique:
        expected["upsert_record_save"] = {"UPS001"}  # the helper's key is missing: the audit says so
    assert found == expected


def test_every_race_rule_has_a_raced_idiom():
    # Idiom rules whose claim is a failure (UPS202) run Django's own call instead:
    # test_orm_lookup_beyond_key.py.
    race_rules = {r.id for r in builtin_rules() if r.claim == "races"}
    # UPS105 (session.merge) and UPS201 (get_or_create) are ORM calls: test_orm_races.py runs
    # the ORM itself on PostgreSQL. UPS108 (check-then-update) has its own race on all three
    # databases: test_check_then_update_race.py.
    assert race_rules == set(RACED.values()) | {"UPS105", "UPS201", "UPS108"}
