"""Which idioms the codemod can rewrite into one `upsert_record()` call, and into what.

A rewrite is applied only when it provably keeps what the code writes (see `plan_rewrite`):

* the key the idiom looks up is a unique key of the table (else the fix is a migration
  first: a manual fix);
* the statements are raw SQL with bind parameters whose Python values can be read off
  the call (`%s` / `?` / `$n` with a literal tuple or list, named with a literal dict);
* the insert and the update write the same values: the update sets each column to the
  expression the insert gives it, for the same key values;
* the statements to replace are the whole idiom and nothing else: the branches hold only
  those statements, and no name the guard bound is used after it.

Fix safety follows Ruff: *safe* keeps what the code does when it runs alone (check- and
update-then-insert: insert when missing, else update the same columns); *unsafe* changes
more than the race (insert-except also swallowed foreign-key errors; delete-then-insert
gave the row a new id and reset other columns), so it needs `--unsafe-fixes`.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from auditor.arbiter import covering_key
from auditor.evidence import sql_table_name
from auditor.model import Table
from auditor.sites import IdiomKind, IdiomSite
from auditor.sql.normalize import SQLGLOT_DIALECT, identifier_name
from auditor.sql.placeholders import normalize_placeholders

SAFE_KINDS = (IdiomKind.CHECK_THEN_INSERT, IdiomKind.UPDATE_THEN_INSERT)
FIXABLE_KINDS = (*SAFE_KINDS, IdiomKind.INSERT_EXCEPT_INTEGRITY_ERROR, IdiomKind.DELETE_THEN_INSERT)
EXECUTE = {"execute", "fetch", "fetchrow", "fetchval"}


@dataclass(frozen=True)
class Rewrite:
    """Replace source lines first_line..last_line (whole statements of one block) with `code`."""

    path: str
    first_line: int
    last_line: int
    code: str  # one statement, unindented
    helper: str  # the name the code calls: upsert_record or aupsert_record
    safe: bool
    rule_kind: IdiomKind


@dataclass(frozen=True)
class Manual:
    path: str
    line: int
    reason: str


class CannotRewrite(Exception):
    pass


# --- reading the SQL's parameters ------------------------------------------------------


def _parse(sql: str, dialect: str) -> tuple[exp.Expression, list[str]]:
    normalized = normalize_placeholders(sql)
    try:
        tree = sqlglot.parse_one(normalized.sql, read=SQLGLOT_DIALECT.get(dialect, dialect))
    except SqlglotError as error:
        raise CannotRewrite(f"the SQL could not be read: {error}") from error
    return tree, list(normalized.parameters)


def _bound_columns(tree: exp.Expression, params: list[str], dialect: str) -> dict[str, dict[str, str]]:
    """{"values" | "set" | "where": {column: parameter key}}: which parameter each column takes.
    Every placeholder must be a whole value (`c = %s`, a VALUES item): else CannotRewrite."""
    placeholders = list(tree.find_all(exp.Placeholder, bfs=False))
    if len(placeholders) != len(params):
        raise CannotRewrite("the statement's placeholders could not be matched to its parameters")
    bound: dict[str, dict[str, str]] = {"values": {}, "set": {}, "where": {}}
    columns = []
    if isinstance(tree, exp.Insert) and isinstance(tree.this, exp.Schema):
        columns = [identifier_name(c, dialect) for c in tree.this.expressions]
    for placeholder, key in zip(placeholders, params):
        parent = placeholder.parent
        if isinstance(parent, exp.Tuple) and columns:
            bound["values"][columns[placeholder.index]] = key
        elif isinstance(parent, exp.EQ) and isinstance(parent.left, exp.Column):
            part = "set" if parent.find_ancestor(exp.Where) is None else "where"
            bound[part][identifier_name(parent.left.this, dialect)] = key
        else:
            raise CannotRewrite("a parameter is used inside an expression, not as a whole value")
    return bound


def _argument_values(call: ast.Call, keys: list[str], numeric: bool) -> dict[str, ast.expr]:
    """The Python expression each parameter key stands for, read off the call."""
    if numeric:  # asyncpg: conn.execute(sql, a, b) with $1, $2
        values = call.args[1:]
        return {k: values[int(k) - 1] for k in keys if k.isdigit() and int(k) <= len(values)}
    if len(call.args) < 2:
        raise CannotRewrite("the statement's parameters are not passed as the call's second argument")
    params = call.args[1]
    if isinstance(params, (ast.Tuple, ast.List)):
        return {k: params.elts[int(k) - 1] for k in keys if k.isdigit() and int(k) <= len(params.elts)}
    if isinstance(params, ast.Dict) and all(isinstance(k, ast.Constant) for k in params.keys):
        return {str(k.value): v for k, v in zip(params.keys, params.values)}
    raise CannotRewrite("the parameters are not a literal tuple, list or dict")


@dataclass(frozen=True)
class BoundStatement:
    """One statement of the idiom: its columns, each with the Python expression it takes."""

    values: dict[str, ast.expr]
    sets: dict[str, ast.expr]
    where: dict[str, ast.expr]


def bind(call: ast.Call, sql: str, dialect: str) -> BoundStatement:
    tree, params = _parse(sql, dialect)
    bound = _bound_columns(tree, params, dialect)
    numeric = "$" in sql and all(p.isdigit() for p in params)
    arguments = _argument_values(call, params, numeric)
    try:
        pick = lambda part: {c: arguments[k] for c, k in bound[part].items()}  # noqa: E731
        return BoundStatement(pick("values"), pick("set"), pick("where"))
    except KeyError as missing:
        raise CannotRewrite(f"parameter {missing} has no value in the call") from None


def same(a: ast.expr, b: ast.expr) -> bool:
    return ast.dump(a) == ast.dump(b)


# --- finding the statements in the function ----------------------------------------------


def _calls_at(tree: ast.AST, line: int, column: int) -> ast.Call:
    """The call at a location; of a chain starting there (`conn.execute(...).fetchone()`), the
    innermost, which is the one the extractor reported."""
    found = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and n.lineno == line and n.col_offset + 1 == column]
    if not found:
        raise CannotRewrite("the call was not found in the file as read")
    return found[-1]


def _enclosing(tree: ast.AST, target: ast.AST, types: tuple[type, ...]) -> tuple[list[ast.stmt], int]:
    """The innermost statement of one of `types` that contains `target`: its block and index."""
    found: tuple[list[ast.stmt], int] | None = None
    depth = -1
    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    while stack:
        node, level = stack.pop()
        for _field, value in ast.iter_fields(node):
            if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
                for index, statement in enumerate(value):
                    if any(n is target for n in ast.walk(statement)):
                        if isinstance(statement, types) and level > depth:
                            found, depth = (value, index), level
                        stack.append((statement, level + 1))
            elif isinstance(value, list):
                stack.extend((item, level + 1) for item in value if isinstance(item, ast.excepthandler))
    if found is None:
        raise CannotRewrite("the statement was not found")
    return found


def _only_call(statements: list[ast.stmt]) -> ast.Call | None:
    """The call of a block that is exactly one `call(...)` / `await call(...)` statement."""
    if len(statements) != 1 or not isinstance(statements[0], ast.Expr):
        return None
    value = statements[0].value
    value = value.value if isinstance(value, ast.Await) else value
    return value if isinstance(value, ast.Call) else None


def _names_used(statements: list[ast.stmt]) -> set[str]:
    return {n.id for s in statements for n in ast.walk(s) if isinstance(n, ast.Name)}


def _stored_names(statements: list[ast.stmt]) -> set[str]:
    return {n.id for s in statements for n in ast.walk(s) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}


def _is_execute(call: ast.Call | None) -> bool:
    return call is not None and isinstance(call.func, ast.Attribute) and call.func.attr in EXECUTE


# --- the plan -------------------------------------------------------------------------------


def _string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _strings(items: list[str]) -> str:
    return "[" + ", ".join(map(_string, items)) + "]"


def _render(helper: str, awaited: bool, connection: str, table: str, values: dict[str, str], conflict: list[str], update: list[str]) -> str:
    pairs = ", ".join(f"{_string(column)}: {expression}" for column, expression in values.items())
    code = f"{helper}({connection}, {_string(table)}, {{{pairs}}}, conflict={_strings(conflict)}, update={_strings(update)})"
    return f"await {code}" if awaited else code


def plan_rewrite(site: IdiomSite, table: Table, source: str, tree: ast.Module) -> Rewrite:
    """The rewrite of one idiom, or raise CannotRewrite(reason)."""
    if site.kind not in FIXABLE_KINDS:
        raise CannotRewrite(f"{site.kind.value} is not rewritten automatically")
    key = covering_key(table, site.key_columns)
    if key is None:
        raise CannotRewrite(
            f"no unique key covers {', '.join(site.key_columns)}: add it first (`upsert-audit migrate`), then run fix again"
        )
    conflict = [e.text for e in key.elements]
    location = site.call.location
    insert_call = _calls_at(tree, location.line, location.column)
    if not _is_execute(insert_call) or site.call.write_sql is None:
        raise CannotRewrite("only raw SQL idioms are rewritten; ORM idioms need a manual fix")
    insert = bind(insert_call, site.call.write_sql, site.dialect)
    if not insert.values or set(insert.values) != set(site.insert.columns):
        raise CannotRewrite("the INSERT computes a value in SQL, not only from bind parameters")
    block, index, first, guard_update = _statements_to_replace(site, tree, insert_call)
    if guard_update is not None:
        _check_update_matches(guard_update, site, insert, conflict)
    if site.kind in (IdiomKind.CHECK_THEN_INSERT, IdiomKind.DELETE_THEN_INSERT):
        _check_guard_key(site, tree, insert, conflict)
    replaced = block[first : index + 1]
    later = _names_used(block[index + 1 :])
    if _stored_names(replaced) & later:
        raise CannotRewrite("a name the idiom binds is used after it")
    awaited = any(isinstance(n, ast.Await) for n in ast.walk(replaced[-1]))
    helper = "aupsert_record" if awaited else "upsert_record"
    connection = ast.get_source_segment(source, insert_call.func.value)
    values = {c: ast.get_source_segment(source, e) for c, e in insert.values.items()}
    update = [c for c in site.insert.columns if c not in conflict]
    if site.kind is IdiomKind.CHECK_THEN_INSERT and guard_update is None:
        update = []  # the code only inserted when missing: an existing row is kept as it is
    code = _render(helper, awaited, connection, sql_table_name(table, site.dialect), values, conflict, update)
    return Rewrite(
        location.path, replaced[0].lineno, replaced[-1].end_lineno, code, helper,
        safe=site.kind in SAFE_KINDS, rule_kind=site.kind,
    )


def _check_guard_key(site: IdiomSite, tree: ast.Module, insert: BoundStatement, conflict: list[str]) -> None:
    """The read (or delete) must look up exactly the key, by the values the insert writes."""
    where = site.call.guard_location
    guard = _calls_at(tree, where.line, where.column) if where else None
    if guard is None or not _is_execute(guard) or site.call.guard_sql is None:
        raise CannotRewrite("the lookup is not a raw SQL statement")
    bound = bind(guard, site.call.guard_sql, site.dialect)
    if set(bound.where) != set(conflict):
        raise CannotRewrite(f"the lookup matches by {', '.join(bound.where) or 'nothing'}, not exactly the key ({', '.join(conflict)})")
    if not all(same(bound.where[c], insert.values[c]) for c in conflict):
        raise CannotRewrite("the lookup and the INSERT use different values for the key")


def _check_update_matches(update_call: ast.Call, site: IdiomSite, insert: BoundStatement, conflict: list[str]) -> None:
    """The update must set what the insert writes, for the same key: then insert-or-update
    and upsert_record write the same row."""
    update_sql = next((a for a in [update_call.args[0]] if isinstance(a, ast.Constant) and isinstance(a.value, str)), None)
    if update_sql is None:
        raise CannotRewrite("the UPDATE's SQL is not a literal string")
    update = bind(update_call, update_sql.value, site.dialect)
    if set(update.where) != set(conflict) or not all(same(update.where[c], insert.values[c]) for c in conflict):
        raise CannotRewrite("the UPDATE does not match the row by the same key values the INSERT writes")
    if set(update.sets) != set(insert.values) - set(conflict):
        raise CannotRewrite("the UPDATE and the INSERT do not write the same columns")
    if not all(same(update.sets[c], insert.values[c]) for c in update.sets):
        raise CannotRewrite("the UPDATE sets a column to another value than the INSERT")


def _statements_to_replace(site: IdiomSite, tree: ast.Module, insert_call: ast.Call) -> tuple[list[ast.stmt], int, int, ast.Call | None]:
    """(block, index of the idiom's last statement, index of its first, the UPDATE call the
    idiom runs when the row exists, if any)."""
    if site.kind is IdiomKind.INSERT_EXCEPT_INTEGRITY_ERROR:
        # the insert may sit in `with conn.transaction():` inside the try
        block, index = _enclosing(tree, insert_call, (ast.Try,))
        try_node = block[index]
        if len(try_node.handlers) != 1 or try_node.orelse or try_node.finalbody:
            raise CannotRewrite("the try statement does more than insert-or-update")
        inner = try_node.body
        if len(inner) == 1 and isinstance(inner[0], ast.With):
            inner = inner[0].body
        if _only_call(inner) is not insert_call:
            raise CannotRewrite("the try block does more than the INSERT")
        update = _only_call(try_node.handlers[0].body)
        if not _is_execute(update):
            raise CannotRewrite("the except block does more than the UPDATE")
        return block, index, index, update
    if site.kind is IdiomKind.DELETE_THEN_INSERT:
        block, index = _enclosing(tree, insert_call, (ast.Expr,))
        statement = block[index]
        if _only_call([statement]) is not insert_call or index == 0 or not _is_execute(_only_call([block[index - 1]])):
            raise CannotRewrite("the DELETE and the INSERT are not two adjacent statements")
        return block, index, index - 1, None
    block, index = _enclosing(tree, insert_call, (ast.If,))
    statement = block[index]
    missing, present = (statement.body, statement.orelse)
    if _only_call(missing) is not insert_call:
        missing, present = present, missing
    if _only_call(missing) is not insert_call:
        raise CannotRewrite("the branch that inserts does more than the INSERT")
    update = None
    if present and not (len(present) == 1 and isinstance(present[0], ast.Pass)):
        update = _only_call(present)
        if not _is_execute(update):
            raise CannotRewrite("the branch for an existing row does more than one UPDATE")
    if site.kind is IdiomKind.UPDATE_THEN_INSERT and update is not None:
        raise CannotRewrite("the rowcount branch does more than insert")
    first = index
    guard_line = site.call.guard_location.line if site.call.guard_location else statement.lineno
    while first > 0 and block[first - 1].lineno >= guard_line:
        first -= 1
    if guard_line < statement.lineno:
        if first == index or block[first].lineno != guard_line:
            raise CannotRewrite("the read and the if statement are not adjacent in one block")
        guard = block[first:index]
        if not all(isinstance(s, (ast.Expr, ast.Assign)) for s in guard):
            raise CannotRewrite("the statements between the read and the if do more than read")
        if site.kind is IdiomKind.UPDATE_THEN_INSERT:
            update = _only_call(guard[:1])
            if not _is_execute(update) and not (isinstance(guard[0], ast.Assign) and _is_execute(_unawait(guard[0].value))):
                raise CannotRewrite("the UPDATE is not a plain execute statement")
            update = update if _is_execute(update) else _unawait(guard[0].value)
    return block, index, first, update


def _unawait(node: ast.expr) -> ast.expr:
    return node.value if isinstance(node, ast.Await) else node
