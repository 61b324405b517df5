"""The rule pages in docs/rules/: written from the rule files alone, in step with them, and
the `upsert-audit rules --format markdown [-o DIR]` command that writes them."""

from __future__ import annotations

from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from auditor.cli import main
from auditor.fix.flavours import SAFE_KINDS
from auditor.output.rule_pages import COMMAND, GENERATED, INDEX, TESTED_ON, all_pages, fix_mode, is_generated, page_name
from auditor.rulebook import CLAIMS, builtin_rules

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs" / "rules"
RULES = builtin_rules()
PAGES = all_pages(RULES)
MARKDOWN = MarkdownIt("commonmark").enable("table")


def run(args: list[str], capsys) -> tuple[int, str, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_docs_rules_are_the_pages_the_rule_files_give():
    """A rule changed and its page was not regenerated: this fails, saying what to run."""
    outdated = [name for name, text in PAGES.items() if not (DOCS / name).is_file() or (DOCS / name).read_bytes() != text.encode()]
    stale = [p.name for p in DOCS.glob("*.md") if p.name not in PAGES and is_generated(p)]
    assert not outdated and not stale, (
        f"docs/rules/ is out of date with rules/ (differs: {', '.join(sorted(outdated)) or 'none'}; "
        f"no longer a rule: {', '.join(sorted(stale)) or 'none'}). Run `{COMMAND}` and commit docs/rules/."
    )


def _headings(tokens, level: str) -> list[str]:
    return [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open" and t.tag == level]


def _tables_are_whole(tokens) -> None:
    """Every row has the header's cells: an unescaped `|` in a message would add one."""
    header = 0
    for i, token in enumerate(tokens):
        if token.type == "thead_open":
            header = 0
        if token.type == "tr_open":
            cells = 0
            for t in tokens[i + 1:]:
                if t.type == "tr_close":
                    break
                cells += t.type in ("th_open", "td_open")
            header = header or cells
            assert cells == header


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_a_page_has_ruffs_sections_and_every_example(rule):
    tokens = MARKDOWN.parse(PAGES[page_name(rule)])
    assert _headings(tokens, "h1") == [f"{rule.id} `{rule.name}`"]
    assert _headings(tokens, "h2") == ["What it does", "Why is this bad?", "Example", "Use instead", "Fix safety"]
    # Each example is a heading of its own; an unclosed code fence would swallow the rest.
    assert sum(h.startswith("Example ") for h in _headings(tokens, "h3")) == len(rule.examples)
    _tables_are_whole(tokens)


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_a_page_prints_each_databases_error_or_what_it_does_instead(rule):
    page = PAGES[page_name(rule)]
    for example in (e for e in rule.examples if not e.valid):
        claim = example.claim or rule.claim
        if claim in ("fails", "swallows"):
            for dialect in example.dialects:
                error = example.error(dialect)
                assert f"| {TESTED_ON[dialect]} | `{error.code}` | `{error.message}` |" in page  # no declared message holds a pipe
        else:
            assert CLAIMS[claim] in page


def test_the_incident_page_names_postgresql_and_sqlite_errors():
    page = PAGES["UPS001.md"]
    assert "| PostgreSQL | `42P10` | `there is no unique or exclusion constraint matching the ON CONFLICT specification` |" in page
    assert "| SQLite | `SQLITE_ERROR` | `ON CONFLICT clause does not match any PRIMARY KEY or UNIQUE constraint` |" in page
    assert "On MariaDB the database runs it without error, but running it twice leaves more rows" in page


def test_pages_are_marked_and_hold_nothing_of_this_machine():
    for name, text in PAGES.items():
        assert text.startswith(GENERATED + "\n"), name
        assert str(REPO) not in text and str(Path.home()) not in text, name


def test_the_index_links_every_rule_page():
    tokens = MARKDOWN.parse(PAGES[INDEX])
    links = [t.attrs["href"] for t in tokens for t in (t.children or []) if t.type == "link_open"]
    assert links == [page_name(r) for r in RULES]
    _tables_are_whole(tokens)
    for rule in RULES:
        assert f"| `{rule.name}` | {rule.severity} |" in PAGES[INDEX] and rule.summary() in PAGES[INDEX]


def test_fix_safety_on_a_page_is_what_fix_does():
    """`fix` rewrites safely only the idioms auditor.fix.flavours calls safe: the metadata the
    pages read must agree, or a page would promise a rewrite `fix` holds back."""
    modes = {rule.id: fix_mode(rule) for rule in RULES}
    for rule in RULES:
        if modes[rule.id] in ("safe", "unsafe"):
            assert (modes[rule.id] == "safe") == all(kind in SAFE_KINDS for kind in rule.idioms), rule.id
    assert modes["UPS101"] == "safe" and modes["UPS103"] == "unsafe" and modes["UPS001"] == "manual" and modes["UPS901"] == "none"
    assert "**Safe.** `upsert-audit fix` rewrites" in PAGES["UPS101.md"]
    assert "`upsert-audit migrate` writes the migration" in PAGES["UPS001.md"]
    assert "upsert-audit migrate" not in PAGES["UPS004.md"].split("## Fix safety")[1]


# --- the command ---


def test_o_writes_every_page_into_a_new_folder_and_rewrites_only_what_changed(tmp_path, capsys):
    folder = tmp_path / "docs" / "rules"
    code, out, err = run(["rules", "--format", "markdown", "-o", str(folder)], capsys)
    assert code == 0 and out == ""
    assert {p.name: p.read_text(encoding="utf-8") for p in folder.iterdir()} == PAGES  # no temporary file left over
    assert f"Wrote {len(PAGES)} of {len(PAGES)}" in err
    code, _, err = run(["rules", "-o", str(folder)], capsys)  # -o alone means Markdown
    assert code == 0 and f"Wrote 0 of {len(PAGES)}" in err


def test_o_removes_only_pages_it_generated_for_rules_that_are_gone(tmp_path, capsys):
    (tmp_path / "UPS999.md").write_text(GENERATED + "\n\n# UPS999 `gone`\n")
    (tmp_path / "notes.md").write_text("# Our notes on the rules\n")
    code, _, err = run(["rules", "--format", "markdown", "-o", str(tmp_path)], capsys)
    assert code == 0 and "removed UPS999.md" in err
    assert not (tmp_path / "UPS999.md").exists()
    assert (tmp_path / "notes.md").read_text() == "# Our notes on the rules\n"


def test_o_never_overwrites_a_file_it_did_not_write(tmp_path, capsys):
    (tmp_path / "README.md").write_text("# Our rules folder\n")
    code, _, err = run(["rules", "--format", "markdown", "-o", str(tmp_path)], capsys)
    assert code == 2 and "README.md" in err and "not overwriting" in err
    assert [p.name for p in tmp_path.iterdir()] == ["README.md"]
    assert (tmp_path / "README.md").read_text() == "# Our rules folder\n"


def test_bad_rules_arguments_exit_2_with_the_reason(tmp_path, capsys):
    a_file = tmp_path / "rules.md"
    a_file.write_text("")
    code, _, err = run(["rules", "--format", "markdown", "-o", str(a_file)], capsys)
    assert code == 2 and "not a folder" in err and a_file.read_text() == ""
    code, _, err = run(["rules", "UPS001", "-o", str(tmp_path / "out")], capsys)
    assert code == 2 and "every rule's page" in err
    code, _, err = run(["rules", "--format", "text", "-o", str(tmp_path / "out")], capsys)
    assert code == 2 and "--format markdown" in err
    assert not (tmp_path / "out").exists()
    with pytest.raises(SystemExit) as exit_info:
        main(["rules", "--format", "html"])
    assert exit_info.value.code == 2 and "invalid choice: 'html'" in capsys.readouterr().err


def test_markdown_on_stdout_is_the_page_o_writes(capsys):
    assert run(["rules", "UPS001", "--format", "markdown"], capsys)[:2] == (0, PAGES["UPS001.md"])
    assert run(["rules", "check-then-insert", "--format", "markdown"], capsys)[:2] == (0, PAGES["UPS101.md"])
    assert run(["rules", "--format", "markdown"], capsys)[:2] == (0, PAGES[INDEX])
    code, _, err = run(["rules", "UPS999", "--format", "markdown"], capsys)
    assert code == 2 and "UPS999" in err
