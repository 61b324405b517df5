"""Finding execute-like calls in a module's tree and folding their SQL argument.

Which calls: any call of a method or function named like a DB-API / asyncpg /
SQLAlchemy execution entry point (EXECUTE_NAMES), whatever the receiver; the SQL
is its first argument (second for psycopg2.extras' execute_values/execute_batch,
which take the cursor first), or a `query=` / `sql=` / `operation=` /
`statement=` keyword. Strings anywhere else (docstrings, comments, logging,
unrelated constants) are never looked at.

Speed: the byte pre-filter already told us which lines mention an execute-like
name. The walk descends only into statements whose line span contains such a
line, so a big module with two execute calls costs two small walks, not a visit
of every node (ast.NodeVisitor over whole trees was most of the audit's time).
"""

from __future__ import annotations

import ast
import bisect
import re
from functools import partial
from typing import Iterator

from auditor.model import Location
from auditor.python.constants import ConstantFolder, Folded, NotSql, Scope, Unresolved
from auditor.python.files import CALL_NEEDLES
from auditor.python.modules import ModuleInfo
from auditor.python.neutral_sql import column_list, insert_sql, model_field, model_table, on_conflict_sql
from auditor.python.row_reads import unguarded_row_reads
from auditor.python.sinks import Sink, dotted_name, name_pattern, upsert_sql
from auditor.python.django_upserts import bulk_create_sql
from auditor.python.peewee_upserts import peewee_upsert_sql
from auditor.python.project_helpers import Helper, HelperNames, ProjectHelpers, parameters_reached
from auditor.python.sqlalchemy_upserts import NotAnUpsert, orm_upsert_sql, upsert_call
from auditor.sites import SqlCall

# encode/databases (and aiomysql/aiopg wrappers after it): SQL first, but the names are common
# enough in repositories of the project's own (`favourites.fetch_one(user_id, set_id)`) that a
# call is a write site only when its argument is SQL text.
DATABASES_NAMES = {"fetch_one", "fetch_all", "fetch_val", "execute_many"}
SQL_FIRST = {"execute", "executemany", "executescript", "fetch", "fetchrow", "fetchval", "mogrify", "exec_driver_sql"} | DATABASES_NAMES
SQL_SECOND = {"execute_values", "execute_batch"}  # psycopg2.extras: (cursor, sql, args)
SQL_KEYWORDS = ("query", "sql", "operation", "statement")
EXECUTE_NAMES = SQL_FIRST | SQL_SECOND

HELPER_NAMES = {"upsert_record", "aupsert_record"}  # auditor.upsert: the fix the codemod writes
FUNCTION_NODES = (ast.FunctionDef, ast.AsyncFunctionDef)
SIMPLE_STATEMENTS = (ast.Expr, ast.Assign, ast.AnnAssign, ast.AugAssign, ast.Return)  # statements without a body


def hit_lines(source: str, sinks: tuple[Sink, ...] = (), helper_names: HelperNames = HelperNames()) -> list[int]:
    """Sorted 1-based numbers of the lines that mention an execute-like, sink or project helper name."""
    positions = _needle_positions(source, _NEEDLES)  # substring search: an alternation is a slow regex
    if sinks:
        positions += [m.start() for m in re.finditer(name_pattern(sinks), source)]
    if helper_names:  # hundreds of names: which are called here (C-level scans and set operations)
        functions = _called_functions(source, helper_names.functions)
        on_self = _SELF_CALLED.findall(source) + (_CLS_CALLED.findall(source) if "cls." in source else [])
        methods = helper_names.methods.intersection(on_self) - functions
        if functions or methods:
            positions += _calls_at(source, functions, methods)
    return sorted(set(lines_at(sorted(positions), source)))


_NEEDLES = tuple(needle.decode() for needle in CALL_NEEDLES)  # the pre-filter's
# ASCII: identifiers of the code that calls them; Unicode \w makes the scan three times slower.
_CALLED = re.compile(r"\b([A-Za-z_]\w*+)\s*+\(", re.ASCII)
# One regex each: a literal prefix lets `re` skip to it (an alternation of them does not).
_SELF_CALLED = re.compile(r"self\.([A-Za-z_]\w*+)\s*+\(", re.ASCII)
_CLS_CALLED = re.compile(r"cls\.([A-Za-z_]\w*+)\s*+\(", re.ASCII)
FEW_NAMES = 32  # up to this many, one substring test each beats listing every call of the file


def _needle_positions(source: str, needles: tuple[str, ...]) -> list[int]:
    found = []
    for needle in needles:
        index = source.find(needle)
        while index != -1:
            found.append(index)
            index = source.find(needle, index + len(needle))
    return found


def _called_functions(source: str, names: frozenset[str]) -> set[str]:
    if len(names) <= FEW_NAMES:
        return {name for name in names if name in source}  # _calls_at checks each is a call
    return names.intersection(_CALLED.findall(source))


def _calls_at(source: str, functions: set[str], methods: set[str]) -> list[int]:
    """Where the few helper names a file calls are called: a substring search for each (far
    faster than an alternation of them); methods only on self / cls."""
    found = []
    for name, on_self in [*((n, False) for n in functions), *((n, True) for n in methods)]:
        index = source.find(name)
        while index != -1:
            end = index + len(name)
            before = source[index - 1] if index else " "
            if not (before.isalnum() or before == "_") and _OPEN.match(source, end):
                if not on_self or source.endswith(("self.", "cls."), 0, index):
                    found.append(index)
            index = source.find(name, end)
    return sorted(found)


_OPEN = re.compile(r"\s*\(")


def lines_at(positions: list[int], source: str) -> list[int]:
    """1-based line numbers of sorted character positions."""
    lines, line, last = [], 1, 0
    for position in positions:
        line += source.count("\n", last, position)
        last = position
        lines.append(line)
    return lines


def line_span(node: ast.AST) -> tuple[int, int]:
    """First and last line of a statement; a `case` block has no position of its own in
    `ast`, so its span runs from its pattern to the end of its body."""
    if isinstance(node, ast.match_case):
        return node.pattern.lineno, line_span(node.body[-1])[1]
    return node.lineno, node.end_lineno or node.lineno


def spans_hit(node: ast.AST, hits: list[int]) -> bool:
    """Does the node's line span hold one of the (sorted) hit lines?"""
    first, last = line_span(node)
    i = bisect.bisect_left(hits, first)
    return i < len(hits) and hits[i] <= last


class RowReads:
    """Which calls of one statement have their returned row read unguarded; worked out only
    when asked (for SQL with RETURNING), since most statements never need it."""

    def __init__(self, statement: ast.stmt, following: ast.stmt | None):
        self.statement, self.following, self._ids = statement, following, None

    def __contains__(self, call: ast.Call) -> bool:
        if self._ids is None:
            self._ids = unguarded_row_reads(self.statement, self.following) if isinstance(self.statement, SIMPLE_STATEMENTS) else set()
        return id(call) in self._ids


Candidate = tuple[ast.Call, "ast.AST | None", RowReads]  # (call, enclosing function, its statement's row reads)


def _calls_in(node: ast.AST, function: ast.AST | None, row_reads: RowReads) -> Iterator[Candidate]:
    for child in ast.walk(node):
        if isinstance(child, ast.Call):
            yield child, function, row_reads


def candidate_calls(tree: ast.Module, hits: list[int]) -> Iterator[Candidate]:
    """Every Call on a hit line's statement, with the function enclosing it (or None) and
    whether the code reads the row it returns without checking one came back."""

    def block(statements: list, function: ast.AST | None) -> Iterator[Candidate]:
        for index, statement in enumerate(statements):
            if not spans_hit(statement, hits):
                continue
            inner = statement if isinstance(statement, FUNCTION_NODES) else function
            following = statements[index + 1] if index + 1 < len(statements) else None
            row_reads = RowReads(statement, following)
            for _field, value in ast.iter_fields(statement):
                if isinstance(value, list):
                    bodies = [v for v in value if isinstance(v, (ast.stmt, ast.excepthandler, ast.match_case))]
                    if bodies:
                        yield from block(bodies, inner)
                    for v in value:
                        if isinstance(v, ast.expr):
                            yield from _calls_in(v, inner, row_reads)
                elif isinstance(value, ast.expr):
                    yield from _calls_in(value, inner, row_reads)

    yield from block(tree.body, None)


def sql_position(call: ast.Call, name: str, module: ModuleInfo | None = None) -> int:
    """psycopg2.extras.execute_values(cur, sql, rows) takes the SQL second; a method of the
    same name on an object (`txn.execute_batch(sql, rows)`) takes it first."""
    if name not in SQL_SECOND:
        return 0
    receiver = call.func.value if isinstance(call.func, ast.Attribute) else None
    if receiver is None or module is None:
        return 1
    root = receiver
    while isinstance(root, ast.Attribute):
        root = root.value
    return 1 if isinstance(root, ast.Name) and root.id in module.imports else 0


def sql_argument(call: ast.Call, name: str, module: ModuleInfo | None = None) -> ast.expr | None:
    position = sql_position(call, name, module)
    if len(call.args) > position and not isinstance(call.args[position], ast.Starred):
        return call.args[position]
    return next((k.value for k in call.keywords if k.arg in SQL_KEYWORDS), None)


def location(module: ModuleInfo, node: ast.AST) -> Location:
    return Location(module.path, node.lineno, node.col_offset + 1)


def _column_names(node: ast.expr | None, module: ModuleInfo, folder: ConstantFolder, scope: Scope | None) -> list[str] | str:
    """Column names from a dict's keys or a list/tuple/set of names; else why not."""
    if node is None:
        return []
    items = node.keys if isinstance(node, ast.Dict) else node.elts if isinstance(node, (ast.List, ast.Tuple, ast.Set)) else None
    if items is None or any(i is None for i in items):
        return f"the columns are a {type(node).__name__} expression, not a literal dict or list"
    names = []
    for item in items:
        folded = folder.complete(item, module, scope)
        if not isinstance(folded, Folded):
            return "a column name is not a constant"
        names.append(folded.value)
    return names


def _argument(call: ast.Call, position: int | None) -> ast.expr | None:
    if position is None or len(call.args) <= position or isinstance(call.args[position], ast.Starred):
        return None
    return call.args[position]


def structured_sink_sql(call: ast.Call, sink: Sink, module: ModuleInfo, folder: ConstantFolder, scope: Scope | None) -> str:
    """The INSERT ... ON CONFLICT a structured sink call performs, or raise ValueError(reason)."""
    table = folder.complete(_argument(call, sink.table_argument) or ast.Constant(None), module, scope)
    if not isinstance(table, Folded):
        raise ValueError(f"the table argument of {sink.call}() is not a constant")
    keys = _column_names(_argument(call, sink.key_argument), module, folder, scope)
    values = _column_names(_argument(call, sink.values_argument), module, folder, scope)
    for columns in (keys, values):
        if isinstance(columns, str):
            raise ValueError(columns)
    if not keys:
        raise ValueError(f"the key argument of {sink.call}() names no column")
    return upsert_sql(table.value, keys, values)


def helper_sql(call: ast.Call, module: ModuleInfo, folder: ConstantFolder, scope: Scope | None) -> str:
    """`upsert_record(conn, "t", {"k": ..., "v": ...}, conflict=["k"], update=["v"])` as the
    INSERT ... ON CONFLICT it runs, so a re-audit checks its key; raise ValueError(reason)."""
    table_node = _argument(call, 1)
    arguments = {k.arg: k.value for k in call.keywords if k.arg}
    if isinstance(table_node, (ast.Name, ast.Attribute)) and not isinstance(folder.complete(table_node, module, scope), Folded):
        name = table_node.id if isinstance(table_node, ast.Name) else table_node.attr
        table = model_table(name)
        column = partial(model_field, name)
    else:
        folded = folder.complete(table_node or ast.Constant(None), module, scope)
        if not isinstance(folded, Folded):
            raise ValueError("the table argument of upsert_record() is not a constant")
        table, column = folded.value, str
    values = _column_names(_argument(call, 2) or arguments.get("values"), module, folder, scope)
    keys = _column_names(_argument(call, 3) or arguments.get("conflict"), module, folder, scope)
    update = _column_names(arguments["update"], module, folder, scope) if "update" in arguments else None
    for columns in (values, keys, update or []):
        if isinstance(columns, str):
            raise ValueError(columns)
    if not keys:
        raise ValueError("the conflict argument of upsert_record() names no column")
    update = [v for v in values if v not in keys] if update is None else update
    return insert_sql(table, [column(c) for c in values]) + on_conflict_sql(column_list([column(c) for c in keys]), [column(c) for c in update])


def construct_site(here: Location, api: str, driver: str | None, what: str, build, origin: Location | None = None) -> SqlCall | None:
    """An ORM upsert construct as a site: the SQL it compiles to, or unresolved with the reason;
    None when `build` finds no upsert there. `origin`: where the construct's target is written."""
    origin = origin if origin != here else None
    try:
        sql = build()
    except NotAnUpsert as reason:
        return SqlCall(here, api, None, unresolved_reason=f"{what} not read: {reason}", driver=driver, origin=origin)
    return SqlCall(here, api, sql, driver=driver, origin=origin) if sql is not None else None


def execute_like(call: ast.Call, module: ModuleInfo, sinks: tuple[Sink, ...] = ()) -> tuple[str, ast.expr] | None:
    """(api, SQL argument) of a call that hands SQL text to the database, else None."""
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
    if name in EXECUTE_NAMES:
        argument = sql_argument(call, name, module)
        return (name, argument) if argument is not None else None
    dotted = dotted_name(func) if sinks else None
    sink = next((s for s in sinks if dotted and s.matches(dotted) and not s.structured), None)
    argument = _argument(call, sink.sql_argument) if sink else None
    return (sink.call, argument) if argument is not None else None


def sink_hint(function: ast.AST, argument: ast.expr, helpers: ProjectHelpers | None, module: ModuleInfo) -> str | None:
    """`{ call = "run", sql-argument = 1 }` when the SQL is the function's own parameter, whole."""
    if not isinstance(argument, ast.Name):
        return None
    positional = [a.arg for a in [*function.args.posonlyargs, *function.args.args]]
    if helpers is not None and helpers.owner(module, function) is not None:
        positional = positional[1:]  # self / cls: callers do not pass it
    if argument.id not in positional:
        return None
    return f'{{ call = "{function.name}", sql-argument = {positional.index(argument.id)} }}'


def helper_call_sites(
    node: ast.Call, here: Location, helper: Helper, helpers: ProjectHelpers, module: ModuleInfo, scope: Scope | None
) -> list[SqlCall]:
    """A call of a project helper: one site per statement it runs, with this call's arguments."""
    sites = []
    for reached in helpers.reached(node, helper, module, scope):
        result, through, driver = reached.result, reached.path, reached.helper.module.driver
        # In a helper of its own, the call may pass on that helper's parameters: checked at its calls too.
        parameterised = scope is not None and bool(parameters_reached([result]))
        if isinstance(result, Folded):
            origin = location(result.module, result.node)
            sites.append(SqlCall(here, reached.api, result.value, origin=origin, driver=driver, holes=result.holes, parameterised=parameterised, through=through))
        elif isinstance(result, Unresolved):
            sites.append(SqlCall(here, reached.api, None, unresolved_reason=result.reason, driver=driver, parameterised=parameterised, through=through))
    return sites


def execute_calls(
    tree: ast.Module, source: str, module: ModuleInfo, folder: ConstantFolder, driver: str | None, sinks: tuple[Sink, ...] = (),
    helpers: ProjectHelpers | None = None, helper_names: HelperNames = HelperNames(), hits: list[int] | None = None,
) -> list[SqlCall]:
    scopes: dict[int, Scope] = {}  # built only for functions that hold an execute call
    calls: list[SqlCall] = []

    def scope_of(function: ast.AST | None) -> Scope | None:
        if function is None:
            return None
        if helpers is not None:
            return helpers.scope(function)
        return scopes.get(id(function)) or scopes.setdefault(id(function), Scope.of_function(function))

    for node, function, row_reads in candidate_calls(tree, hit_lines(source, sinks, helper_names) if hits is None else hits):
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
        here = location(module, node)
        if name == "bulk_create":  # Django: an upsert only with update_conflicts / ignore_conflicts
            site = construct_site(here, name, driver, "bulk_create", lambda: bulk_create_sql(node))
            calls.extend([site] if site else [])
            continue
        if name == "execute" and not node.args and not node.keywords:  # peewee: <insert query>.execute()
            site = construct_site(here, name, driver, "peewee upsert", lambda: peewee_upsert_sql(node, scope_of(function)))
            calls.extend([site] if site else [])
            continue
        if name in HELPER_NAMES:
            try:
                calls.append(SqlCall(here, name, helper_sql(node, module, folder, scope_of(function)), driver=driver))
            except ValueError as reason:
                calls.append(SqlCall(here, name, None, unresolved_reason=str(reason), driver=driver))
            continue
        if name in EXECUTE_NAMES:
            argument = sql_argument(node, name, module)
            api = name
        else:
            dotted = dotted_name(func) if sinks else None
            sink = next((s for s in sinks if dotted and s.matches(dotted)), None)
            if sink is None:
                on_self = isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in ("self", "cls")
                passes = node.args or node.keywords  # a call that passes nothing cannot fill a parameter
                helper = helpers.callee(node, module, function) if helpers is not None and passes and helper_names.called(name, on_self) else None
                if helper is not None:
                    calls.extend(helper_call_sites(node, here, helper, helpers, module, scope_of(function)))
                continue
            if sink.structured:
                try:
                    sql = structured_sink_sql(node, sink, module, folder, scope_of(function))
                    calls.append(SqlCall(here, sink.call, sql, driver=driver))
                except ValueError as reason:
                    calls.append(SqlCall(here, sink.call, None, unresolved_reason=str(reason), driver=driver))
                continue
            argument, api = _argument(node, sink.sql_argument), sink.call
        if argument is None:
            continue
        if isinstance(argument, (ast.Call, ast.Name)):  # insert(Model)...on_conflict_do_update(...)
            target = upsert_call(argument, scope_of(function))
            origin = location(module, target) if target is not None else None
            site = construct_site(here, api, driver, "SQLAlchemy upsert", lambda: orm_upsert_sql(argument, scope_of(function)), origin)
            if site:
                calls.append(site)
                continue
        results = folder.fold_all(argument, module, scope_of(function))
        parameterised = function is not None and bool(parameters_reached(results))  # a helper's: checked at its calls
        hint = sink_hint(function, argument, helpers, module) if parameterised else None
        for result in results:  # one site per possible statement
            if isinstance(result, NotSql):
                continue
            if isinstance(result, Folded):
                origin = location(result.module, result.node) if result.via_name or result.node is not argument else None
                row_read = "RETURNING" in result.value.upper() and node in row_reads  # only RETURNING hands back a row
                calls.append(SqlCall(here, api, result.value, origin=origin, driver=driver, row_read=row_read, holes=result.holes, parameterised=parameterised))
            elif name not in DATABASES_NAMES:
                calls.append(SqlCall(here, api, None, unresolved_reason=result.reason, driver=driver, parameterised=parameterised, sink_hint=hint))
    calls.sort(key=lambda c: (c.location.line, c.location.column))
    return calls
