"""How each kind of code spells an idiom's writes, and how its atomic form is written.

Three flavours, one interface: which Python expression each column (raw SQL) or field
(ORM) takes in the INSERT, the lookup and the UPDATE, and the one statement that replaces
the idiom:

* RawSql     cur.execute("INSERT ...", (a, b))          -> upsert_record(cur, "t", {...}, ...)
* Django     Model.objects.create(k=a, v=b)             -> Model.objects.update_or_create(k=a, defaults={...})
                                                           (get_or_create when the code kept an existing row)
* SqlAlchemy session.add(Model(k=a, v=b))               -> upsert_record(session, Model, {...}, ...)
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from auditor.fix.source import CannotRewrite, python_literal, unawait, upsert_record_call
from auditor.python.operations import dict_key_names, is_session
from auditor.sites import IdiomKind, IdiomSite
from auditor.sql.normalize import SQLGLOT_DIALECT, identifier_name
from auditor.sql.placeholders import normalize_placeholders

EXECUTE = {"execute", "fetch", "fetchrow", "fetchval"}
# Insert-or-update as the code meant it when it runs alone: rewriting keeps that. The other
# idioms did more (swallowed other errors, gave the row a new id): their rewrite is unsafe.
SAFE_KINDS = (IdiomKind.CHECK_THEN_INSERT, IdiomKind.UPDATE_THEN_INSERT)


@dataclass(frozen=True)
class Write:
    """What one statement writes or looks up: name -> the Python expression it takes."""

    values: dict[str, ast.expr] = field(default_factory=dict)  # INSERT values / UPDATE SET
    where: dict[str, ast.expr] = field(default_factory=dict)  # equality lookup


def _method(call: ast.Call | None) -> str | None:
    return call.func.attr if call is not None and isinstance(call.func, ast.Attribute) else None


def _keywords(call: ast.Call, what: str) -> dict[str, ast.expr]:
    if call.args or any(k.arg is None for k in call.keywords):
        raise CannotRewrite(f"the {what} passes fields positionally or as **kwargs")
    return {k.arg: k.value for k in call.keywords}


class Flavour:
    """One way code writes rows; the statements of an idiom are read through it."""

    whole_chain = True  # the lookup is the whole query chain (an ORM's), not its first call

    def __init__(self, site: IdiomSite):
        self.site = site

    def conflict(self, key_columns: list[str], lookup: dict[str, ast.expr]) -> list[str]:
        """The conflict key the rewrite names: an ORM's own lookup fields."""
        return list(lookup)


# --- raw SQL ----------------------------------------------------------------------------------


class RawSql(Flavour):
    """DB-API / asyncpg calls with constant SQL and bind parameters."""

    whole_chain = False  # the lookup is the execute() call, not the fetch after it

    @staticmethod
    def handles(call: ast.Call) -> bool:
        return _method(call) in EXECUTE

    @staticmethod
    def safe(kind: IdiomKind) -> bool:
        return kind in SAFE_KINDS

    def _sql(self, call: ast.Call) -> str:
        if call.args and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str):
            return call.args[0].value
        location = (call.lineno, call.col_offset + 1)
        for where, sql in ((self.site.call.location, self.site.call.write_sql), (self.site.call.guard_location, self.site.call.guard_sql)):
            if where is not None and (where.line, where.column) == location and sql:
                return sql
        raise CannotRewrite("the SQL of a statement in the idiom is not a constant")

    def _bind(self, call: ast.Call) -> Write:
        if not self.handles(call):
            raise CannotRewrite("a statement of the idiom is not a raw SQL execute call")
        sql = self._sql(call)
        normalized = normalize_placeholders(sql)
        try:
            tree = sqlglot.parse_one(normalized.sql, read=SQLGLOT_DIALECT.get(self.site.dialect, self.site.dialect))
        except SqlglotError as error:
            raise CannotRewrite(f"the SQL could not be read: {error}") from error
        keys = list(normalized.parameters)
        placeholders = list(tree.find_all(exp.Placeholder, bfs=False))
        if len(placeholders) != len(keys):
            raise CannotRewrite("the statement's placeholders could not be matched to its parameters")
        arguments = self._arguments(call, keys, numeric="$" in sql and all(k.isdigit() for k in keys))
        columns = [identifier_name(c, self.site.dialect) for c in tree.this.expressions] if isinstance(tree, exp.Insert) and isinstance(tree.this, exp.Schema) else []
        write = Write()
        for placeholder, key in zip(placeholders, keys):
            if key not in arguments:
                raise CannotRewrite(f"parameter {key!r} has no value in the call")
            parent = placeholder.parent
            if isinstance(parent, exp.Tuple) and columns:
                write.values[columns[placeholder.index]] = arguments[key]
            elif isinstance(parent, exp.EQ) and isinstance(parent.left, exp.Column):
                part = write.values if parent.find_ancestor(exp.Where) is None else write.where
                part[identifier_name(parent.left.this, self.site.dialect)] = arguments[key]
            else:
                raise CannotRewrite("a parameter is used inside an expression, not as a whole value")
        if isinstance(tree, exp.Insert) and set(write.values) != set(columns):
            raise CannotRewrite("the INSERT computes a value in SQL, not only from bind parameters")
        return write

    @staticmethod
    def _arguments(call: ast.Call, keys: list[str], numeric: bool) -> dict[str, ast.expr]:
        """The Python expression each parameter key stands for, read off the call."""
        if numeric:  # asyncpg: conn.execute(sql, a, b) with $1, $2
            values = call.args[1:]
            return {k: values[int(k) - 1] for k in keys if int(k) <= len(values)}
        if len(call.args) < 2:
            raise CannotRewrite("the statement's parameters are not passed as the call's second argument")
        params = call.args[1]
        if isinstance(params, (ast.Tuple, ast.List)):
            return {k: params.elts[int(k) - 1] for k in keys if k.isdigit() and int(k) <= len(params.elts)}
        if isinstance(params, ast.Dict) and all(isinstance(k, ast.Constant) for k in params.keys):
            return {str(k.value): v for k, v in zip(params.keys, params.values)}
        raise CannotRewrite("the parameters are not a literal tuple, list or dict")

    def insert(self, call: ast.Call) -> dict[str, ast.expr]:
        return self._bind(call).values

    def lookup(self, call: ast.Call) -> dict[str, ast.expr]:
        return self._bind(call).where

    def update(self, call: ast.Call | None, statements: list[ast.stmt], row_names: set[str]) -> Write:
        if call is None:
            raise CannotRewrite("the branch for an existing row does more than one UPDATE")
        return self._bind(call)

    def conflict(self, key_columns: list[str], lookup: dict[str, ast.expr]) -> list[str]:
        return key_columns

    def render(self, insert_call: ast.Call, source: str, values: dict[str, str], conflict: list[str], update: list[str] | None, awaited: bool, table: str) -> tuple[str, str]:
        helper = "aupsert_record" if awaited else "upsert_record"
        connection = ast.get_source_segment(source, insert_call.func.value)
        code = upsert_record_call(helper, connection, python_literal(table), values, conflict, update or [])
        return (f"await {code}" if awaited else code), helper


# --- Django ------------------------------------------------------------------------------------


def _objects(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "objects"


class Django(Flavour):
    """`Model.objects.create(...)` after `Model.objects.filter(...).exists()` / `.update(...)`."""

    @staticmethod
    def safe(kind: IdiomKind) -> bool:
        return kind in SAFE_KINDS  # get_or_create / update_or_create on the unique key: the same row, atomically

    @staticmethod
    def handles(call: ast.Call) -> bool:
        return _method(call) == "create" and _objects(call.func.value)

    def insert(self, call: ast.Call) -> dict[str, ast.expr]:
        return _keywords(call, "create()")

    def lookup(self, call: ast.Call) -> dict[str, ast.expr]:
        """The filter(...) / get(...) keywords of a chain; only exact lookups."""
        found: dict[str, ast.expr] = {}
        node: ast.AST = call
        while isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in ("filter", "get"):
                for name, value in _keywords(node, "lookup").items():
                    field_name, _, lookup = name.partition("__")
                    if lookup not in ("", "exact"):
                        raise CannotRewrite(f"the lookup {name} is not an exact match")
                    found[field_name] = value
            node = node.func.value
        return found

    def update(self, call: ast.Call | None, statements: list[ast.stmt], row_names: set[str]) -> Write:
        if _method(call) != "update" or not isinstance(call.func.value, ast.Call):
            raise CannotRewrite("the branch for an existing row does more than one filter(...).update(...)")
        return Write(_keywords(call, "update()"), self.lookup(call.func.value))

    def render(self, insert_call: ast.Call, source: str, values: dict[str, str], conflict: list[str], update: list[str] | None, awaited: bool, table: str) -> tuple[str, str]:
        manager = ast.get_source_segment(source, insert_call.func.value)
        keys = ", ".join(f"{f}={values[f]}" for f in conflict)
        rest = {f: e for f, e in values.items() if f not in conflict}
        defaults = ", defaults={" + ", ".join(f"{python_literal(f)}: {e}" for f, e in rest.items()) + "}" if rest else ""
        method = "get_or_create" if update is None else "update_or_create"
        prefix = "a" if awaited else ""
        code = f"{manager}.{prefix}{method}({keys}{defaults})"
        return (f"await {code}" if awaited else code), ""


# --- SQLAlchemy ORM --------------------------------------------------------------------------------


class SqlAlchemy(Flavour):
    """`session.add(Model(...))` after `session.query(Model).filter_by(...).first()`."""

    @staticmethod
    def safe(kind: IdiomKind) -> bool:
        return False  # the row is written at once, not at the session's next flush

    @staticmethod
    def handles(call: ast.Call) -> bool:
        return _method(call) == "add" and is_session(call.func.value) and len(call.args) == 1 and isinstance(call.args[0], ast.Call)

    def insert(self, call: ast.Call) -> dict[str, ast.expr]:
        return _keywords(call.args[0], "model constructor")

    def lookup(self, call: ast.Call) -> dict[str, ast.expr]:
        found: dict[str, ast.expr] = {}
        node: ast.AST = call
        while isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr == "filter_by":
                found.update(_keywords(node, "filter_by()"))
            elif node.func.attr in ("filter", "where"):
                for argument in node.args:
                    if not (isinstance(argument, ast.Compare) and isinstance(argument.ops[0], ast.Eq) and isinstance(argument.left, ast.Attribute)):
                        raise CannotRewrite("a filter is not an equality on a column")
                    found[argument.left.attr] = argument.comparators[0]
            node = node.func.value
        return found

    def update(self, call: ast.Call | None, statements: list[ast.stmt], row_names: set[str]) -> Write:
        """`session.query(M).filter_by(...).update({...})`, or `row.attr = value` for the row the
        lookup returned."""
        if _method(call) == "update" and isinstance(call.func.value, ast.Call):
            argument = call.args[0] if len(call.args) == 1 and not call.keywords else None
            if not isinstance(argument, ast.Dict) or None in argument.keys:
                raise CannotRewrite("the update's values are not a literal dict")
            names = dict_key_names(argument)
            if None in names:
                raise CannotRewrite("the update's keys are not column names")
            return Write(dict(zip(names, argument.values)), self.lookup(call.func.value))
        values: dict[str, ast.expr] = {}
        for statement in statements:
            target = statement.targets[0] if isinstance(statement, ast.Assign) and len(statement.targets) == 1 else None
            if not (isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id in row_names):
                raise CannotRewrite("the branch for an existing row does more than set the row's attributes")
            values[target.attr] = statement.value
        return Write(values, {})

    def render(self, insert_call: ast.Call, source: str, values: dict[str, str], conflict: list[str], update: list[str] | None, awaited: bool, table: str) -> tuple[str, str]:
        session = ast.get_source_segment(source, insert_call.func.value)
        model = ast.get_source_segment(source, insert_call.args[0].func)
        code = upsert_record_call("upsert_record", session, model, values, conflict, update or [])
        return code, "upsert_record"


FLAVOURS = (RawSql, Django, SqlAlchemy)


def flavour_of(call: ast.Call, site: IdiomSite):
    for flavour in FLAVOURS:
        if flavour.handles(unawait(call)):
            return flavour(site)
    raise CannotRewrite("this way of writing rows is not rewritten automatically")
