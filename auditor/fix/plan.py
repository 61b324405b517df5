"""Which idioms the codemod can rewrite into one atomic call, and into what.

A rewrite is planned only when it provably keeps what the code writes:

* the key the idiom looks up is a unique key of the table, and the lookup is exactly that
  key (else the fix is a migration first, or a person: a manual fix);
* every value can be read off the code (bind parameters with a literal tuple, list or
  dict; ORM keyword arguments), and the lookup uses the values the insert writes;
* the update writes what the insert writes: each column set to the same expression;
* the statements replaced are the whole idiom and nothing else: the branches hold only
  those statements, and no name the idiom binds is used after it.

`auditor.fix.flavours` reads raw SQL, Django and SQLAlchemy calls and writes their atomic
form; this module finds the idiom's statements and checks the rules above.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from auditor.arbiter import covering_key
from auditor.evidence import sql_table_name
from auditor.fix.flavours import Write, flavour_of
from auditor.fix.source import (
    CannotRewrite,
    assigned_call,
    calls_at,
    enclosing,
    is_pass,
    names_used,
    only_call,
    same,
    stored_names,
    upsert_record_call,
)
from auditor.model import KeyKind, Table
from auditor.races import set_replacement_reason
from auditor.sites import IdiomKind, IdiomSite

FIXABLE_KINDS = (
    IdiomKind.CHECK_THEN_INSERT, IdiomKind.UPDATE_THEN_INSERT, IdiomKind.INSERT_EXCEPT_INTEGRITY_ERROR, IdiomKind.DELETE_THEN_INSERT,
    IdiomKind.SESSION_MERGE,
)

__all__ = ["CannotRewrite", "Manual", "Rewrite", "plan_rewrite"]


@dataclass(frozen=True)
class Rewrite:
    """Replace source lines first_line..last_line (whole statements of one block) with `code`."""

    path: str
    first_line: int
    last_line: int
    code: str  # one statement, unindented
    helper: str  # the function the code calls and imports (upsert_record / aupsert_record), "" for none
    safe: bool
    rule_kind: IdiomKind


@dataclass(frozen=True)
class Manual:
    path: str
    line: int
    reason: str


@dataclass(frozen=True)
class IdiomStatements:
    """Where the idiom is: its block, the index range it spans, and its parts."""

    block: list[ast.stmt]
    first: int
    last: int
    guard: ast.Call | None  # the lookup (SELECT / filter / DELETE), if it is a separate read
    update: ast.Call | None  # the UPDATE call run for an existing row
    update_statements: list[ast.stmt]  # the existing-row branch, for attribute updates
    keeps_existing: bool  # no update: an existing row is left as it is


def _if_idiom(site: IdiomSite, tree: ast.Module, insert_call: ast.Call, whole_chain: bool) -> IdiomStatements:
    """check-then-insert / update-then-insert: [guard statements] + `if ...: insert [else: update]`."""
    try:
        block, index = enclosing(tree, insert_call, (ast.If,))
    except CannotRewrite:
        raise CannotRewrite("the insert is not a branch of an if statement") from None
    statement = block[index]
    missing, present = statement.body, statement.orelse
    if only_call(missing) is not insert_call:
        missing, present = present, missing
    if only_call(missing) is not insert_call:
        raise CannotRewrite("the branch that inserts does more than the insert")
    first = index
    guard_line = site.call.guard_location.line if site.call.guard_location else statement.lineno
    while first > 0 and block[first - 1].lineno >= guard_line:
        first -= 1
    guards = block[first:index]
    if guard_line < statement.lineno and (not guards or guards[0].lineno != guard_line):
        raise CannotRewrite("the read and the if statement are not adjacent in one block")
    if not all(isinstance(s, (ast.Expr, ast.Assign)) for s in guards):
        raise CannotRewrite("the statements between the read and the if do more than read")
    where = site.call.guard_location
    guard = calls_at(tree, where.line, where.column, outermost=whole_chain) if where else None
    if site.kind is IdiomKind.UPDATE_THEN_INSERT:
        if not is_pass(present):
            raise CannotRewrite("the rowcount branch does more than insert")
        update = only_call(guards[:1]) or assigned_call(guards[0]) if guards else None
        return IdiomStatements(block, first, index, None, update, [], keeps_existing=False)
    keeps = is_pass(present)
    return IdiomStatements(block, first, index, guard, None if keeps else only_call(present), present, keeps)


def _try_idiom(insert_call: ast.Call, tree: ast.Module) -> IdiomStatements:
    """`try: insert / except IntegrityError: update` (the insert may sit in a savepoint block)."""
    block, index = enclosing(tree, insert_call, (ast.Try,))
    node = block[index]
    if len(node.handlers) != 1 or node.orelse or node.finalbody:
        raise CannotRewrite("the try statement does more than insert-or-update")
    inner = node.body
    if len(inner) == 1 and isinstance(inner[0], (ast.With, ast.AsyncWith)):
        inner = inner[0].body
    if only_call(inner) is not insert_call:
        raise CannotRewrite("the try block does more than the insert")
    update = only_call(node.handlers[0].body)
    if update is None:
        raise CannotRewrite("the except block does more than the update")
    return IdiomStatements(block, index, index, None, update, node.handlers[0].body, keeps_existing=False)


def _delete_idiom(insert_call: ast.Call, tree: ast.Module) -> IdiomStatements:
    block, index = enclosing(tree, insert_call, (ast.Expr,))
    if only_call([block[index]]) is not insert_call or index == 0 or only_call([block[index - 1]]) is None:
        raise CannotRewrite("the delete and the insert are not two adjacent statements")
    return IdiomStatements(block, index - 1, index, only_call([block[index - 1]]), None, [], keeps_existing=False)


def _statements(site: IdiomSite, tree: ast.Module, insert_call: ast.Call, whole_chain: bool) -> IdiomStatements:
    if site.kind is IdiomKind.INSERT_EXCEPT_INTEGRITY_ERROR:
        return _try_idiom(insert_call, tree)
    if site.kind is IdiomKind.DELETE_THEN_INSERT:
        return _delete_idiom(insert_call, tree)
    return _if_idiom(site, tree, insert_call, whole_chain)


def _check_same_row(insert: dict[str, ast.expr], lookup: dict[str, ast.expr], conflict: list[str], update: Write | None) -> None:
    """The lookup is the key with the insert's values, and the update writes what the insert does."""
    if set(lookup) != set(conflict):
        raise CannotRewrite(f"the lookup matches by {', '.join(lookup) or 'nothing'}, not exactly the key ({', '.join(conflict)})")
    if not all(c in insert and same(lookup[c], insert[c]) for c in conflict):
        raise CannotRewrite("the lookup and the insert use different values for the key")
    if update is None:
        return
    if update.where and (set(update.where) != set(conflict) or not all(same(update.where[c], insert[c]) for c in conflict)):
        raise CannotRewrite("the update does not match the row by the same key values the insert writes")
    if set(update.values) != set(insert) - set(conflict):
        raise CannotRewrite("the update and the insert do not write the same columns")
    if not all(same(update.values[c], insert[c]) for c in update.values):
        raise CannotRewrite("the update sets a column to another value than the insert")


def _merge_rewrite(site: IdiomSite, table: Table, source: str, tree: ast.Module) -> Rewrite:
    """`session.merge(Model(k=..., v=...))` -> upsert_record(session, Model, {...}, conflict=[the
    one unique key the row hits, else the primary key]). Unsafe: merge() also loaded the row
    into the session and returned it."""
    call = calls_at(tree, site.call.location.line, site.call.location.column)
    block, index = enclosing(tree, call, (ast.Expr,))
    built = call.args[0] if len(call.args) == 1 else None
    if only_call([block[index]]) is not call or not isinstance(built, ast.Call) or built.args or any(k.arg is None for k in built.keywords):
        raise CannotRewrite("only a statement `session.merge(Model(field=value, ...))` is rewritten")
    columns = dict(zip((k.arg for k in built.keywords), site.insert.columns))
    written = set(columns.values())
    keys = [k for k in table.unique_keys if k.valid and not k.predicate and not k.has_expression and k.element_set <= written]
    others = [k for k in keys if k.kind is not KeyKind.PRIMARY]
    if len(others) > 1:
        raise CannotRewrite("the row can hit several unique keys: choose the one the save means")
    if not keys:
        raise CannotRewrite("the object sets no complete unique key")
    key = (others or keys)[0]
    conflict = [e.text for e in key.elements]
    values = {columns[k.arg]: ast.get_source_segment(source, k.value) for k in built.keywords}
    session = ast.get_source_segment(source, call.func.value)
    model = ast.get_source_segment(source, built.func)
    code = upsert_record_call("upsert_record", session, model, values, conflict, [c for c in values if c not in conflict])
    line = block[index]
    return Rewrite(site.call.location.path, line.lineno, line.end_lineno, code, "upsert_record", safe=False, rule_kind=site.kind)


def plan_rewrite(site: IdiomSite, table: Table, source: str, tree: ast.Module) -> Rewrite:
    """The rewrite of one idiom, or raise CannotRewrite(reason)."""
    if site.kind not in FIXABLE_KINDS:
        raise CannotRewrite(f"{site.kind.value} is not rewritten automatically")
    if site.kind is IdiomKind.SESSION_MERGE:
        return _merge_rewrite(site, table, source, tree)
    key = covering_key(table, site.key_columns)
    if key is None and site.kind is IdiomKind.DELETE_THEN_INSERT:
        raise CannotRewrite(f"no unique key covers {', '.join(site.key_columns)}, and {set_replacement_reason(site.key_columns)}")
    if key is None:
        raise CannotRewrite(
            f"no unique key covers {', '.join(site.key_columns)}: add it first (`upsert-audit migrate`), then run fix again"
        )
    if site.inexact_lookup or set(site.key_columns) != key.element_set:
        raise CannotRewrite(f"the lookup is not exactly the key ({', '.join(e.text for e in key.elements)})")
    insert_call = calls_at(tree, site.call.location.line, site.call.location.column)
    flavour = flavour_of(insert_call, site)
    insert = flavour.insert(insert_call)
    parts = _statements(site, tree, insert_call, flavour.whole_chain)
    update = None
    if parts.update is not None or parts.update_statements:
        update = flavour.update(parts.update, parts.update_statements, stored_names(parts.block[parts.first : parts.last]))
    lookup = flavour.lookup(parts.guard) if parts.guard is not None else (update.where if update else {})
    conflict = flavour.conflict([e.text for e in key.elements], lookup)
    _check_same_row(insert, lookup, conflict, update)
    replaced = parts.block[parts.first : parts.last + 1]
    if stored_names(replaced) & names_used(parts.block[parts.last + 1 :]):
        raise CannotRewrite("a name the idiom binds is used after it")
    awaited = any(isinstance(n, ast.Await) for n in ast.walk(replaced[-1]))
    values = {c: ast.get_source_segment(source, e) for c, e in insert.items()}
    updated = None if parts.keeps_existing else [c for c in insert if c not in conflict]
    code, helper = flavour.render(insert_call, source, values, conflict, updated, awaited, sql_table_name(table, site.dialect))
    return Rewrite(
        site.call.location.path, replaced[0].lineno, replaced[-1].end_lineno, code, helper,
        safe=flavour.safe(site.kind), rule_kind=site.kind,
    )
