"""The real-code score's own rules (bench/corpus/score.py): which finding flags which label,
and how recall, precision and bug-fix pairs are counted. The corpus itself is a benchmark
CI cannot reach; these rules are what every closing note's numbers rest on."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

SCORE = Path(__file__).resolve().parent.parent / "bench" / "corpus" / "score.py"


@pytest.fixture(scope="module")
def score():
    spec = importlib.util.spec_from_file_location("corpus_score", SCORE)
    module = importlib.util.module_from_spec(spec)
    sys.modules["corpus_score"] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("corpus_score", None)


def label(score, path, start, line, verdict, pair=None, role=None, commit="a" * 40):
    return score.Label("o/r", commit, path, line, start, "check_then_insert", verdict, pair, role)


def finding(rule, path, line, severity="warning", origin=None):
    return {"rule": rule, "severity": severity, "path": path, "line": line, "message": "m",
            "sql_origin": {"path": origin[0], "line": origin[1]} if origin else None}


def test_a_finding_flags_the_nearest_label_holding_its_location_or_its_sql(score):
    near = label(score, "app.py", 10, 14, "BUG")
    wide = label(score, "app.py", 5, 20, "OK")
    constant = label(score, "sql.py", 3, 4, "BUG")
    labels = [near, wide, constant]
    assert score.flagged_label(finding("UPS101", "app.py", 13), labels) is near  # both hold 13; near's line is closer
    assert score.flagged_label(finding("UPS101", "app.py", 19), labels) is wide
    assert score.flagged_label(finding("UPS001", "app.py", 40, origin=("sql.py", 3)), labels) is constant
    assert score.flagged_label(finding("UPS001", "app.py", 40), labels) is None


def test_of_labels_ending_on_one_insert_the_guard_decides(score):
    """lnbits: username, email and pubkey checked one after the other, then one insert."""
    username, email, pubkey = (label(score, "users.py", start, 76, "BUG") for start in (60, 65, 68))
    labels = [username, email, pubkey]
    for guard, expected in ((60, username), (65, email), (68, pubkey)):
        assert score.flagged_label(finding("UPS101", "users.py", 76, origin=("users.py", guard)), labels) is expected
    assert score.flagged_label(finding("UPS101", "users.py", 76), labels) is username  # no guard: the first, as before


def test_info_findings_never_flag_and_unlabelled_ones_are_counted(score):
    bug = label(score, "app.py", 1, 2, "BUG")
    result = score.TreeResult("o/r", "a" * 40)
    report = {"summary": {}, "diagnostics": [], "sites": [],
              "findings": [finding("UPS902", "app.py", 1, "info"), finding("UPS101", "other.py", 1)]}
    score.score_tree(result, report, [bug])
    assert result.flagged == set() and result.unlabelled == 1
    assert [f["rule"] for f in result.seen[bug]] == ["UPS902"]  # kept to explain the miss


def test_recall_precision_and_pairs(score):
    before = label(score, "a.py", 1, 2, "BUG", "p-1", "before", commit="b" * 40)
    after = label(score, "a.py", 1, 2, "OK", "p-1", "after", commit="c" * 40)
    incomplete_before = label(score, "b.py", 1, 2, "BUG", "p-2", "before", commit="b" * 40)
    incomplete_after = label(score, "b.py", 1, 2, "BUG", "p-2", "after", commit="c" * 40)
    ok = label(score, "c.py", 1, 2, "OK")
    flagged = score.TreeResult("o/r", "b" * 40, flagged={before, incomplete_before})
    fixed = score.TreeResult("o/r", "c" * 40, flagged={incomplete_after, ok})
    s = score.repo_score([before, after, incomplete_before, incomplete_after, ok], [flagged, fixed])
    assert (s.bug, s.bug_flagged, s.ok, s.ok_flagged) == (3, 3, 2, 1)
    assert s.recall == 1.0 and s.precision == 0.75
    assert (s.pairs, s.pairs_won) == (2, 2)  # an incomplete fix is won when its after side is still flagged
    s = score.repo_score([before, after], [score.TreeResult("o/r", "b" * 40), fixed])
    assert (s.pairs_won, s.recall) == (0, 0.0)
