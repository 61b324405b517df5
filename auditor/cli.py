"""Command line: `upsert-audit check | init | report | verify | migrate | fix | schema | config | rules`.

Exit codes (the contract hooks and CI depend on): 0 nothing found, 1 findings,
2 usage, configuration or internal error - and 2 when there were write sites
but no schema to check them against, because "not checked" must never look
like "clean".
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from pathlib import Path

from auditor import __version__
from auditor.atomic_write import write_atomically
from auditor.config import ConfigError, describe, load_config
from auditor.schema.live import LiveSchemaError

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2

# --format name -> (module, renderer): imported only when chosen.
FORMATS = {
    "text": ("auditor.output.text", "render_text"),
    "json": ("auditor.output.json_output", "render_json"),
    "sarif": ("auditor.output.sarif", "render_sarif"),
    "github": ("auditor.output.github", "render_github"),
    "gitlab": ("auditor.output.gitlab", "render_gitlab"),
    "junit": ("auditor.output.junit", "render_junit"),
}


def _add_audit_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="project folder to audit (default: .), or changed files: then the whole project is read "
        "and only findings in those files, or caused by changed schema files, are reported",
    )
    parser.add_argument("--dialect", help="postgres, sqlite or mysql (default: from config, else the drivers used)")
    parser.add_argument(
        "--schema",
        action="append",
        metavar="PATH",
        help="schema/migration .sql file or folder; repeatable (default: every .sql file under the project)",
    )
    parser.add_argument("--database-url", metavar="URL", help="read the schema from a live database (postgresql://..., sqlite:///path)")
    parser.add_argument("--include", action="append", metavar="PATTERN", help="gitignore-style pattern: audit only matching Python files; repeatable")
    parser.add_argument("--exclude", action="append", metavar="PATTERN", help="gitignore-style pattern to skip; repeatable")
    parser.add_argument("--select", action="append", metavar="RULE", help="rule id or prefix to run; repeatable (default: all)")
    parser.add_argument("--ignore", action="append", metavar="RULE", help="rule id or prefix not to run; repeatable")
    parser.add_argument(
        "--sink", action="append", metavar="CALL:sql=N | CALL:table=N,key=N[,values=N]", help="declare a driver wrapper as a write site; repeatable"
    )
    parser.add_argument("--no-cache", action="store_true", help="do not read or write .upsert-audit-cache/")
    parser.add_argument("--idioms-in-tests", action="store_true", help="read race idioms in test files too (tests/, test/, testing/, test_*.py, *_test.py, conftest.py)")
    parser.add_argument("--jobs", type=int, metavar="N", help="processes for parsing big trees (default: cores, at most 4)")
    parser.add_argument("--fail-on", choices=("info", "warning", "error"), help="lowest severity that makes the exit code 1 (default: warning)")
    parser.add_argument("--severity", action="append", metavar="RULE=LEVEL", help="override a rule's severity; repeatable")
    parser.add_argument(
        "--per-file-ignores", action="append", metavar="PATTERN:RULE[,RULE]", help="ignore rules in files matching a pattern; repeatable"
    )


def _pairs(items: list[str] | None, separator: str, flag: str) -> dict | None:
    if not items:
        return None
    pairs = {}
    for item in items:
        key, sep, value = item.rpartition(separator)
        if not sep or not key or not value:
            raise ConfigError(f"--{flag}: expected KEY{separator}VALUE, got {item!r}")
        pairs[key] = value.split(",") if flag == "per-file-ignores" else value
    return pairs


def _sink_flags(items: list[str] | None) -> list[dict] | None:
    if not items:
        return None
    sinks = []
    for item in items:
        call, _, spec = item.partition(":")
        sink: dict = {"call": call}
        for part in filter(None, spec.split(",")):
            name, sep, position = part.partition("=")
            if not sep or not position.strip().isdigit():
                raise ConfigError(f"--sink: expected CALL:sql=N or CALL:table=N,key=N[,values=N], got {item!r}")
            sink[f"{name.strip()}-argument"] = int(position)
        sinks.append(sink)
    return sinks


def config_flags(args) -> dict:
    """The audit flags as configuration keys (None = not given)."""
    return {
        "dialect": args.dialect,
        "schema": args.schema,
        "database-url": args.database_url,
        "include": args.include,
        "exclude": args.exclude,
        "select": args.select,
        "ignore": args.ignore,
        "fail-on": args.fail_on,
        "sinks": _sink_flags(args.sink),
        "cache": False if args.no_cache else None,
        "idioms-in-tests": True if getattr(args, "idioms_in_tests", False) else None,
        "jobs": args.jobs,
        "severity": _pairs(args.severity, "=", "severity"),
        "keep-newest-by": getattr(args, "keep_newest_by", None),
        "archive-table": getattr(args, "archive_table", None),
        "helper": getattr(args, "helper", None),
        "per-file-ignores": _pairs(args.per_file_ignores, ":", "per-file-ignores"),
    }


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="upsert-audit",
        description="Check Python code's SQL writes against the schema's real unique keys.",
    )
    parser.add_argument("--version", action="version", version=f"upsert-audit {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    check = commands.add_parser("check", help="audit a project and print findings")
    _add_audit_arguments(check)
    check.add_argument("--format", choices=tuple(FORMATS), default="text")
    check.add_argument(
        "--baseline",
        metavar="FILE",
        help="report only findings not in FILE; if FILE does not exist, record the current findings in it",
    )

    report = commands.add_parser("report", help="write the Markdown audit report")
    _add_audit_arguments(report)
    report.add_argument("-o", "--output", default="upsert-audit-report.md", help="report file (- for stdout)")

    verify = commands.add_parser("verify", help="ask a live database whether each write site would run (writes nothing)")
    _add_audit_arguments(verify)
    verify.add_argument("--format", choices=("text", "json"), default="text")

    migrate = commands.add_parser("migrate", help="write the migrations that add the unique keys the findings need")
    _add_audit_arguments(migrate)
    migrate.add_argument("--format", choices=("sql", "alembic", "django"), help="migration format (default: what the project uses)")
    migrate.add_argument("-o", "--output", metavar="DIR", help="folder for the new migrations (default: the project's SQL migrations folder)")
    migrate.add_argument("--dry-run", action="store_true", help="print the migrations instead of writing them")
    migrate.add_argument("--keep-newest-by", action="append", metavar="COLUMN",
                         help="column that says which duplicate row is the newest one to keep; repeatable (default: updated_at, created_at)")
    migrate.add_argument("--archive-table", metavar="NAME", help="where removed duplicates go (default: {table}_dedup_archive)")

    fix = commands.add_parser("fix", help="rewrite racy insert-or-update idioms into one atomic upsert_record() call")
    _add_audit_arguments(fix)
    fix.add_argument("--write", action="store_true", help="apply the rewrites (default: print them as a diff)")
    fix.add_argument("--unsafe-fixes", action="store_true", help="also apply rewrites that change more than the race (see `upsert-audit rules`)")
    fix.add_argument("--helper", metavar="MODULE.FUNCTION", help="the upsert function rewritten code calls (default: auditor.upsert.upsert_record)")

    schema = commands.add_parser("schema", help="print the schema catalog the audit sees (tables, columns, keys, where each is defined)")
    _add_audit_arguments(schema)
    schema.add_argument("--format", choices=("text", "json"), default="text")

    config = commands.add_parser("config", help="print the effective configuration")
    _add_audit_arguments(config)

    init = commands.add_parser("init", help="write [tool.upsert-audit] into pyproject.toml from what the project shows, then print the first audit's summary")
    init.add_argument("path", nargs="?", default=".", metavar="PATH", help="the project's root folder (default: .)")
    init.add_argument("--force", action="store_true", help="replace an existing [tool.upsert-audit] table")

    rules = commands.add_parser("rules", help="list the rules, print one rule's docs, or write every rule's page (-o)")
    rules.add_argument("rule_id", nargs="?", metavar="RULE", help="a rule's id or name: its docs")
    rules.add_argument("--format", choices=("text", "markdown"),
                       help="text (default): the list, or a rule's docs; markdown: the index of the rule pages, or a rule's page")
    rules.add_argument("-o", "--output", metavar="DIR",
                       help="write every rule's Markdown page and their index (README.md) into DIR, e.g. docs/rules/")
    return parser


def _exit_code(result) -> int:
    if result.failing:
        return EXIT_FINDINGS
    if result.summary.write_sites and not result.schema_found:
        return EXIT_ERROR
    if result.nothing_checked:  # silent is not clean
        return EXIT_ERROR
    return EXIT_CLEAN


def audit_target(paths: list[str]) -> tuple[Path, list[Path] | None]:
    """(where configuration is looked up, changed files or None for a whole-project audit)."""
    if not paths:
        return Path.cwd(), None
    given = [Path(p) for p in paths]
    if len(given) == 1 and given[0].is_dir():
        return given[0], None
    if any(p.is_dir() for p in given):
        raise ConfigError("give one project folder, or a list of files (as pre-commit does), not both")
    missing = [str(p) for p in given if not p.exists()]
    if missing:
        raise ConfigError(f"no such file: {', '.join(missing)}")
    return Path.cwd(), given


def on_terminal(stream) -> bool:
    """Colour and progress only for a person at a terminal (and never with NO_COLOR set)."""
    return stream.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


def _audit(config, changed=None):
    """run_audit, with progress on a terminal."""
    from auditor.engine import run_audit

    if not on_terminal(sys.stderr):
        return run_audit(config, changed=changed)
    from auditor.output.progress import terminal_progress

    with terminal_progress() as progress:
        return run_audit(config, changed=changed, progress=progress)


def _run_audit(args):
    target, changed = audit_target(args.paths)
    return _audit(load_config(target, **config_flags(args)), changed)


def apply_baseline(result, path: Path) -> None:
    """Drop baselined findings, or record the baseline if the file does not exist yet."""
    from auditor.baseline import BaselineError, new_findings, read_baseline, write_baseline

    if not path.exists():
        write_baseline(path, result.findings)
        print(f"upsert-audit: wrote baseline {path} with {len(result.findings)} finding(s); later runs report only new ones", file=sys.stderr)
        result.summary.baselined = len(result.findings)
        result.findings = []
        return
    try:
        known = read_baseline(path)
    except BaselineError as error:
        raise ConfigError(str(error)) from None
    kept = new_findings(result.findings, known)
    result.summary.baselined = len(result.findings) - len(kept)
    result.findings = kept


def cmd_check(args) -> int:
    import importlib

    result = _run_audit(args)
    if args.baseline:
        apply_baseline(result, Path(args.baseline))
    module, renderer = FORMATS[args.format]
    render = getattr(importlib.import_module(module), renderer)
    if args.format == "text":
        sys.stdout.write(render(result, terminal=on_terminal(sys.stdout)))
    else:
        sys.stdout.write(render(result))
    return _exit_code(result)


def cmd_report(args) -> int:
    from auditor.output.report import render_report

    result = _run_audit(args)
    text = render_report(result)
    if args.output == "-":
        sys.stdout.write(text)
    else:
        output = Path(args.output)
        write_atomically(output, text)
        print(f"Wrote {output} ({len(result.findings)} finding(s)).", file=sys.stderr)
    return _exit_code(result)


def cmd_verify(args) -> int:
    from dataclasses import replace

    from auditor.engine import run_audit
    from auditor.output.verify_output import render_verify_json, render_verify_text
    from auditor.verify import verify

    target, changed = audit_target(args.paths)
    config = load_config(target, **config_flags(args))
    if not config.database_url:
        raise ConfigError("verify needs --database-url (or database-url in [tool.upsert-audit])")
    # The static audit reads the schema files, so that the database can confirm or contradict them.
    result = run_audit(replace(config, database_url=None), changed=changed)
    verification = verify(result, config.database_url)
    sys.stdout.write((render_verify_json if args.format == "json" else render_verify_text)(verification))
    return EXIT_FINDINGS if verification.failing else EXIT_CLEAN


def cmd_migrate(args) -> int:
    from auditor.migrate import generate

    result = _run_audit(args)
    output = Path(args.output) if args.output else None
    try:
        report = generate(result, output, write=not args.dry_run, format=args.format)
    except ValueError as error:
        raise ConfigError(str(error)) from None
    root = result.config.root
    for migration in report.migrations:
        shown = migration.path.relative_to(root) if migration.path.is_relative_to(root) else migration.path
        if migration.already_there:
            print(f"{shown}: already there (unique key {migration.key.table.name} ({', '.join(migration.key.columns)}))", file=sys.stderr)
        elif args.dry_run:
            sys.stdout.write(f"-- {shown}\n{migration.text}\n")
        else:
            print(f"wrote {shown}: unique key {migration.key.table.name} ({', '.join(migration.key.columns)})", file=sys.stderr)
    for location, reason in report.skipped:
        print(f"{location}: no migration: {reason}", file=sys.stderr)
    if not report.migrations and not report.skipped:
        print("upsert-audit: no finding needs a new unique key", file=sys.stderr)
    return EXIT_CLEAN


def cmd_fix(args) -> int:
    from auditor.fix import run_fix

    report = run_fix(_run_audit(args), write=args.write, unsafe=args.unsafe_fixes)
    if not args.write:
        for diff in report.diffs.values():
            sys.stdout.write(diff)
    for path in report.written:
        count = sum(1 for r in report.applied if r.path == path)
        print(f"fixed {path}: {count} idiom(s) now call the atomic upsert", file=sys.stderr)
    for rewrite in report.unsafe_skipped:
        print(f"{rewrite.path}:{rewrite.first_line}: {rewrite.rule_kind.value}: unsafe fix available (--unsafe-fixes)", file=sys.stderr)
    for manual in report.manual:
        print(f"{manual.path}:{manual.line}: manual fix: {manual.reason}", file=sys.stderr)
    if not (report.applied or report.unsafe_skipped or report.manual):
        print("upsert-audit: nothing to fix", file=sys.stderr)
    pending = report.unsafe_skipped or report.manual or (report.applied and not args.write)
    return EXIT_FINDINGS if pending else EXIT_CLEAN


def cmd_schema(args) -> int:
    from auditor.output.schema_output import render_schema_json, render_schema_text

    result = _run_audit(args)
    render = render_schema_json if args.format == "json" else render_schema_text
    sys.stdout.write(render(result.catalog, result.schema_sources))
    return EXIT_CLEAN


def cmd_init(args) -> int:
    from auditor.config import SECTION, Config
    from auditor.init_config import existing_settings, proposed_table, with_table
    from auditor.output.text import summary_lines

    root = Path(args.path)
    if not root.is_dir():
        raise ConfigError(f"{root}: not a folder (give the project's root)")
    pyproject = root / "pyproject.toml"
    existing = pyproject.read_text(encoding="utf-8") if pyproject.is_file() else None
    if existing is not None:
        existing_settings(existing, args.force)  # refuse before the audit's seconds are spent
    result = _audit(Config(root=root.resolve()))
    table = proposed_table(result)
    write_atomically(pyproject, with_table(existing, table, args.force, root))
    print(f"upsert-audit: {'wrote' if existing is None else 'added'} [tool.{SECTION}] to {pyproject}:", file=sys.stderr)
    sys.stdout.write(table + "\nThe first audit:\n" + "\n".join(summary_lines(result)) + "\n")
    print("Next: `upsert-audit check` lists the findings, `upsert-audit report` writes the Markdown report.", file=sys.stderr)
    return EXIT_CLEAN


def cmd_config(args) -> int:
    sys.stdout.write(describe(load_config(audit_target(args.paths)[0], **config_flags(args))))
    return EXIT_CLEAN


def cmd_rules(args) -> int:
    from auditor.output import rule_pages
    from auditor.rulebook import builtin_rules

    rules = builtin_rules()
    if args.output:
        return _write_rule_pages(rules, args)
    rule = None
    if args.rule_id:
        wanted = args.rule_id.strip()
        rule = next((r for r in rules if wanted in (r.id, r.name)), None)
        if rule is None:
            print(f"upsert-audit: no rule {wanted!r}; run `upsert-audit rules` for the list", file=sys.stderr)
            return EXIT_ERROR
    if args.format == "markdown":  # exactly the page -o writes
        sys.stdout.write(rule_pages.rule_page(rule) if rule else rule_pages.index_page(rules))
    elif rule:
        print(rule.docs_markdown())
    else:
        for rule in rules:
            print(f"{rule.id}  {rule.name:<36} {rule.severity!s:<8} {', '.join(rule.dialects)}")
    return EXIT_CLEAN


def _write_rule_pages(rules, args) -> int:
    """Every rule's page and the index into one folder. Each file is written atomically;
    files we did not generate are never overwritten, and only pages we generated for rules
    that no longer exist are removed."""
    from auditor.output import rule_pages

    if args.rule_id:
        raise ConfigError("-o writes every rule's page: leave out the rule, or use --format markdown without -o for one page")
    if args.format == "text":
        raise ConfigError("-o writes Markdown pages: use --format markdown")
    try:
        written = rule_pages.write_pages(Path(args.output), rules, write_atomically)
    except ValueError as error:
        raise ConfigError(str(error)) from None
    removed = f"; removed {', '.join(p.name for p in written.removed)} (no such rule)" if written.removed else ""
    print(f"Wrote {len(written.changed)} of {written.total} rule pages to {args.output} "
          f"({written.total - len(written.changed)} unchanged){removed}.", file=sys.stderr)
    return EXIT_CLEAN


COMMANDS = {
    "check": cmd_check, "init": cmd_init, "report": cmd_report, "verify": cmd_verify, "migrate": cmd_migrate, "fix": cmd_fix, "schema": cmd_schema, "config": cmd_config, "rules": cmd_rules,
}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except (ConfigError, LiveSchemaError) as error:
        print(f"upsert-audit: {error}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    except Exception:  # an internal error must still exit 2, with the trace for the bug report
        traceback.print_exc()
        print("upsert-audit: internal error (please report it with the trace above)", file=sys.stderr)
        return EXIT_ERROR
