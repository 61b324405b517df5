"""Write idioms that span several statements of one function, found by reading its body.

    row = cur.execute("SELECT ... WHERE user_id = %s", ...).fetchone()
    if row is None:                                    check-then-insert (UPS101)
        cur.execute("INSERT INTO ...")

    cur.execute("UPDATE ... WHERE user_id = %s", ...)
    if cur.rowcount == 0:                              update-then-insert (UPS102)
        cur.execute("INSERT INTO ...")

    try: cur.execute("INSERT ...")                     insert-except-integrity-error (UPS103)
    except IntegrityError: cur.execute("UPDATE ...")

    cur.execute("DELETE ... WHERE user_id = %s")       delete-then-insert (UPS104)
    cur.execute("INSERT ...")

plus the one-call idioms `session.merge(Model(...))` (UPS105) and
`Model.objects.get_or_create(...)` (UPS201). The reading is structural: a guard (read,
update) in one statement, a branch that runs when it found nothing, and an insert in
that branch; `auditor.python.operations` says what each call does. Whether guard and
insert touch the same table and key is the SQL reader's business (the engine).
"""

from __future__ import annotations

import ast
import bisect
import dataclasses
import functools
import re
from typing import Iterator

from auditor.model import Location
from auditor.python.calls import FUNCTION_NODES, SIMPLE_STATEMENTS, lines_at, spans_hit
from auditor.python.constants import Scope
from auditor.python.modules import ModuleInfo
from auditor.python.operations import (
    DELETE,
    INSERT,
    Lookup,
    Names,
    READ,
    UPDATE,
    Operation,
    _call_name,
    field_names,
    django_lookup,
    insert_sql,
    is_session,
    operation,
    select_sql,
)
from auditor.python.neutral_sql import COLLECTION_ITEM, PARENT_FIELD, RELATED, collection_model, manager_model, peewee_class_model
from auditor.python.module_helpers import ImportedHelpers, ModuleHelpers
from auditor.sites import IdiomCall, IdiomKind, SqlCall

# Every idiom writes a row: a function is analysed only if one of its lines inserts (an
# execute call whose SQL is an INSERT, an ORM create/add) or is a one-call idiom.
WRITE_HINT = tuple(f".{name}" for name in ("create", "acreate", "add", "get_or_create", "aget_or_create", "update_or_create", "aupdate_or_create", "merge", "save", "insert"))
_OPEN_PAREN = re.compile(r"\s*\(")
INSERT_SQL = re.compile(r"^\s*(?:\(\s*)?INSERT\b", re.I)
UPDATE_SQL = re.compile(r"^\s*UPDATE\b", re.I)

GET_OR_CREATE = {"get_or_create", "update_or_create", "aget_or_create", "aupdate_or_create"}
SINGLE_CALLS = GET_OR_CREATE | {"merge"}
ROW_FETCHES = {"fetchone", "fetchall", "fetchrow", "fetchval", "fetch", "fetch_one", "fetch_all", "fetch_val", "first", "one_or_none", "scalar", "scalar_one_or_none", "all", "fetchmany"}
# What a lookup raises on nothing found: the ORMs' own, and a project's `QuotaClassNotFound`.
MISSING_ERRORS = ("DoesNotExist", "ObjectDoesNotExist", "NoResultFound", "NotFound")
# oslo.db (nova, cinder) turns a unique violation into its own DBDuplicateEntry.
INTEGRITY_ERRORS = ("IntegrityError", "UniqueViolation", "DBDuplicateEntry")
UNIQUE_ONLY_ERRORS = ("UniqueViolation", "DBDuplicateEntry")
SAVEPOINT_CALLS = {"transaction", "atomic", "begin_nested", "savepoint"}
SESSION_WRITES = {"add", "merge", "add_all"}  # a SQLAlchemy session's inserts (flushed later)
_ENDS_PATH = (ast.Return, ast.Raise, ast.Continue, ast.Break)
# What takes a lock that serialises writers: row locks, a mutex, an advisory lock.
LOCKING_CALLS = {"select_for_update", "with_for_update", "acquire"}
LOCKING_SQL = re.compile(r"\bFOR\s+(?:NO\s+KEY\s+)?UPDATE\b|\bpg_(?:try_)?advisory(?:_xact)?_lock|\bGET_LOCK\s*\(", re.I)
_LOCK_WORDS = {"lock", "locks", "locked", "locking", "mutex"}


def _names_a_lock(text: str) -> bool:
    """`score_submission_locks[...]`, `_lock_order(...)`, `self.mutex`: a word of the name is lock."""
    return any(word in _LOCK_WORDS for word in re.split(r"[^a-z]+", re.sub(r"([a-z])([A-Z])", r"\1_\2", text).lower()))


def _functions(statements: list[ast.stmt], hits: list[int], owner: ast.ClassDef | None = None) -> Iterator[tuple[ast.AST, ast.ClassDef | None]]:
    """Functions (methods and nested ones too) whose lines hold a hint, each with the class it
    is defined in (a classmethod's `cls` is that class)."""
    for statement in statements:
        if not spans_hit(statement, hits):
            continue
        inner = statement if isinstance(statement, ast.ClassDef) else owner
        if isinstance(statement, FUNCTION_NODES):
            yield statement, owner
        for _field, value in ast.iter_fields(statement):
            if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
                yield from _functions(value, hits, inner)
            elif isinstance(value, list):  # handlers, match cases
                for item in value:
                    if isinstance(item, (ast.excepthandler, ast.match_case)):
                        yield from _functions(item.body, hits, inner)


def _walk_local(node: ast.AST) -> list[ast.AST]:
    """What ast.walk gives (in the order of a depth-first walk that visits the last child
    first), without entering nested functions, classes or lambdas. A list built with plain
    attribute reads: this walk is most of the idiom finder's time."""
    found, stack = [], [node]
    while stack:
        current = stack.pop()
        found.append(current)
        for name in current._fields:
            value = getattr(current, name, None)
            if isinstance(value, list):
                stack.extend(item for item in value if isinstance(item, ast.AST) and not isinstance(item, _NOT_LOCAL))
            elif isinstance(value, ast.AST) and not isinstance(value, _NOT_LOCAL):
                stack.append(value)
    return found


def _blocks(nodes: list[ast.AST]) -> Iterator[list[ast.stmt]]:
    """Every statement list among a function's own nodes (outermost first)."""
    for node in nodes:
        if isinstance(node, (ast.stmt, ast.excepthandler, ast.match_case)):
            yield from _own_lists(node)


def _own_lists(node: ast.AST) -> Iterator[list[ast.stmt]]:
    """The statement lists that are fields of the node (body, orelse, finalbody)."""
    for name in node._fields:
        value = getattr(node, name, None)
        if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
            yield value


def _statement_lists(statement: ast.stmt) -> Iterator[list[ast.stmt]]:
    """The statement lists a compound statement holds (its handlers' bodies too)."""
    yield from _own_lists(statement)
    for item in (*getattr(statement, "handlers", ()), *getattr(statement, "cases", ())):
        yield item.body


_NOT_LOCAL = (*FUNCTION_NODES, ast.ClassDef, ast.Lambda)


class LocalCode:
    """One function's own nodes (not those of nested functions, classes or lambdas), walked
    once. The calls inside a node are found by position, a bisect instead of a walk of the
    node: readers ask for the calls of every statement and test, often of nested ones."""

    def __init__(self, function: ast.AST):
        self.nodes = _walk_local(function)
        calls = [n for n in self.nodes if isinstance(n, ast.Call)]
        self._order = {id(c): i for i, c in enumerate(calls)}  # walk order, as a walk of a node gives it
        self._calls = sorted(calls, key=_start)
        self._starts = [_start(c) for c in self._calls]

    def calls_in(self, node: ast.AST) -> list[ast.Call]:
        """The calls of the node's own code, in the order `_walk_local(node)` yields them."""
        if isinstance(node, _BY_WALK) or getattr(node, "end_lineno", None) is None:
            return [n for n in _walk_local(node) if isinstance(n, ast.Call)]
        end = (node.end_lineno, node.end_col_offset)
        found = []
        for index in range(bisect.bisect_left(self._starts, _start(node)), len(self._calls)):
            if self._starts[index] > end:
                break
            call = self._calls[index]
            if (call.end_lineno, call.end_col_offset) <= end:
                found.append(call)
        return sorted(found, key=lambda c: self._order[id(c)])


@functools.lru_cache(maxsize=1024)
def _construction(name: str) -> re.Pattern[str]:
    """`name = Model(`, `name: T = models.Model(`, `name := cls(`, `name = self.model(`: a
    callee that operations.Names can read as a model (a capitalised last name, `cls`, `model`;
    [^\\W\\d_a-z] is any letter but a lower-case ASCII one, a superset of str.isupper)."""
    callee = r"(?:[A-Za-z_]\w*\s*\.\s*)*(?:[^\W\d_a-z]\w*|cls|model)"
    return re.compile(r"(?<![\w.])" + re.escape(name) + r"\s*(?::(?!=)[^=]*)?:?=(?!=)\s*\(?\s*" + callee + r"\s*\(")


def _start(node: ast.AST) -> tuple[int, int]:
    return node.lineno, node.col_offset


# Nodes whose calls are not those inside their position: nested code, and the parts of an
# f-string, which before Python 3.12 carry the position of the whole string.
_BY_WALK = (*_NOT_LOCAL, ast.Constant, ast.FormattedValue)


def _start_of_node(operation: Operation) -> tuple[int, int]:
    return _start(operation.node)


def _holds(statement: ast.AST, node: ast.AST) -> bool:
    """Is the node inside the statement (by position)?"""
    return _start(statement) <= _start(node) and (node.end_lineno, node.end_col_offset) <= (statement.end_lineno, statement.end_col_offset)


class FunctionFacts:
    """What readers of one function share (the finder and the helper description): its code,
    its scope, and what each call does by itself. Most functions that mention a write insert
    nothing, and are done with after a look at the calls on their hit lines alone."""

    def __init__(self, function: ast.AST, lines: list[str]):
        self.function, self._lines = function, lines
        self._code: LocalCode | None = None
        self._on_lines: dict[int, list[ast.Call]] = {}
        self._text: str | None = None
        self.scope: Scope | None = None
        self.operations: dict[int, Operation | None] = {}  # operation() of each call
        self.adds: dict[int, Operation | None] = {}  # _add_of_local() of each call

    @property
    def code(self) -> LocalCode:
        if self._code is None:
            self._code = LocalCode(self.function)
        return self._code

    def calls_on(self, hits: list[int]) -> list[ast.Call]:
        """The function's own calls in the statements that span one of the (sorted) hit lines:
        every call that can insert is among them, since the hit lines are those of every insert
        (WRITE_HINT, INSERT SQL, calls of inserting helpers)."""
        if id(hits) not in self._on_lines:
            found, stack, count = [], [self.function], len(hits)
            while stack:  # statements off the hit lines are skipped; a kept one is read whole
                node = stack.pop()
                if isinstance(node, ast.Call):
                    found.append(node)
                for name in node._fields:  # ast.iter_child_nodes, inlined: this loop is hot
                    value = getattr(node, name, None)
                    for child in value if isinstance(value, list) else (value,):
                        if not isinstance(child, ast.AST) or isinstance(child, _NOT_LOCAL):
                            continue
                        if isinstance(child, ast.stmt):
                            index = bisect.bisect_left(hits, child.lineno)
                            if index == count or hits[index] > child.end_lineno:
                                continue
                        stack.append(child)
            self._on_lines[id(hits)] = found
        return self._on_lines[id(hits)]

    def text(self) -> str:
        """The function's own lines."""
        if self._text is None:
            self._text = "".join(self._lines[self.function.lineno - 1 : self.function.end_lineno])
        return self._text

    def may_construct(self, name: str) -> bool:
        """Can the function bind the name to a call's result (`name = Model(...)`, `name: T =
        f(...)`, `name := g(...)`)? A text test, a superset of the answer, that spares building
        the scope where the name is a parameter, a loop variable or bound to anything else."""
        return _construction(name).search(self.text()) is not None


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _targets(statement: ast.stmt) -> set[str]:
    if isinstance(statement, ast.Assign):
        return {n for t in statement.targets for n in _names(t)}
    if isinstance(statement, (ast.AnnAssign, ast.AugAssign)):
        return _names(statement.target)
    return set()


def _unwrap(node: ast.expr) -> ast.expr:
    while isinstance(node, ast.Await):
        node = node.value
    return node


def _written_local(call: ast.Call) -> ast.Name | None:
    """The local a write call stores: `session.add(obj)` / `session.merge(obj)`, Django's and
    peewee's `obj.save()`, oslo.db's `obj.save(session)`."""
    name = _call_name(call)
    receiver = call.func.value if isinstance(call.func, ast.Attribute) else None
    if name in ("add", "merge") and is_session(receiver) and len(call.args) == 1 and isinstance(call.args[0], ast.Name):
        return call.args[0]
    if name == "save" and isinstance(receiver, ast.Name) and (not call.args or (len(call.args) == 1 and is_session(call.args[0]))):
        return receiver
    return None


def _forwards_keywords(init: ast.AST) -> bool:
    """Does `__init__` pass its `**kwargs` on (`super().__init__(**kwargs)`)?"""
    return init.args.kwarg is not None and any(
        isinstance(n, ast.Call) and any(k.arg is None and isinstance(k.value, ast.Name) and k.value.id == init.args.kwarg.arg for k in n.keywords)
        for n in ast.walk(init))


def _flag_test(node: ast.expr, flags: dict[str, bool]) -> bool | None:
    """`if missing:` / `if not missing:` of a flag a lookup's "not found" handler set: is the
    test true when the lookup found nothing? None for any other test."""
    negated = isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not)
    name = node.operand if negated else node
    if not (isinstance(name, ast.Name) and name.id in flags):
        return None
    return flags[name.id] != negated


def _is_empty_test(node: ast.expr) -> bool | None:
    """Is `node` true when the guard found nothing (True), when it found something (False),
    or can we not tell (None)? `not row`, `row is None`, `rowcount == 0`, `status == "UPDATE 0"`
    are true on nothing; `row`, `row is not None`, `rowcount > 0`, `.exists()` on something."""
    node = _unwrap(node)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        inner = _is_empty_test(node.operand)
        return None if inner is None else not inner
    if isinstance(node, ast.Compare) and len(node.ops) == 1:
        op, right = node.ops[0], node.comparators[0]
        nothing = isinstance(right, ast.Constant) and (right.value in (None, 0, "") or (isinstance(right.value, str) and right.value.endswith(" 0")))
        if isinstance(right, ast.Constant) and right.value == 1 and isinstance(op, ast.Lt):
            return True
        if nothing and isinstance(op, (ast.Is, ast.Eq)):
            return True
        if nothing and isinstance(op, (ast.IsNot, ast.NotEq, ast.Gt)):
            return False
        if isinstance(right, ast.Constant) and right.value == 1 and isinstance(op, ast.GtE):
            return False
        return None
    if isinstance(node, (ast.Name, ast.Attribute, ast.Call, ast.Subscript)):
        return False  # a bare value: true when something was found
    return None


class FunctionIdioms:
    """The idioms in one function."""

    def __init__(self, function: ast.AST, module: ModuleInfo, known_sql: dict, driver: str | None, owner: ast.ClassDef | None = None,
                 helpers: ModuleHelpers | None = None, facts: FunctionFacts | None = None, collections: frozenset = frozenset()):
        self.function, self.module, self.known_sql, self.driver = function, module, known_sql, driver
        self.collections = collections  # (owner as written, attribute) of `x not in owner.attribute` guards
        self.helpers = helpers  # the module's functions and methods, read one level deep
        self.owner = owner
        self.names = _names_of(function, owner)  # what `cls` / `self` stand for
        self.facts = facts or FunctionFacts(function, module.source.splitlines(keepends=True))
        self._helper_ops: dict[int, Operation | None] = {}
        self._guards: set[int] | None = None  # _guard_calls, once asked
        self._parents: dict[int, tuple[ast.stmt, list[ast.stmt], int]] | None = None  # statement list -> where it sits

    @property
    def nodes(self) -> list[ast.AST]:
        return self.facts.code.nodes

    @property
    def scope(self) -> Scope:
        """Built only when needed (a merge of a local): it walks the whole function."""
        if self.facts.scope is None:
            self.facts.scope = Scope.of_function(self.function)
        return self.facts.scope

    # -- what calls do -------------------------------------------------------------

    def op(self, call: ast.Call) -> Operation | None:
        key = id(call)
        if key not in self.facts.operations:
            found = operation(call, self.known_sql, self.names)
            if found is not None and found.api == "create" and isinstance(call.func, ast.Attribute) and self._defines(call.func.value, "create"):
                found = None  # the project's own `create` classmethod, not the ORM's: not read as an insert
            elif found is not None and found.kind == INSERT and found.api in ("add", "merge") and call.args and isinstance(call.args[0], ast.Call) \
                    and self._own_init(call.args[0].func) is not None:
                # `session.add(Entry(data, list_id))` of a class with its own __init__
                found = Operation(INSERT, insert_sql(self.names.model(call.args[0].func), self.constructor_fields(call.args[0])), call, found.api)
            self.facts.operations[key] = found
        found = self.facts.operations[key]
        if found is None and self.helpers is not None:
            if key not in self._helper_ops:
                self._helper_ops[key] = self._helper_call(call)
            found = self._helper_ops[key]
        if found is None:
            if key not in self.facts.adds:
                self.facts.adds[key] = self._add_of_local(call)
            found = self.facts.adds[key]
        if found is None and self.collections:
            found = self._collection_append(call)
        if found is None and isinstance(call.func, ast.Name) and call.func.id == "hasattr":
            found = self._related_row_test(call)
        return found

    def _related_row_test(self, call: ast.Call) -> Operation | None:
        """`hasattr(checkout, "metadata_storage")`: Django's test whether a one-to-one child row
        exists (the reverse accessor raises RelatedObjectDoesNotExist when it does not), a
        lookup of the child by the parent's key. An attribute no model has as an accessor is
        not a model (the engine then leaves it alone)."""
        if len(call.args) != 2 or call.keywords or not (isinstance(call.args[1], ast.Constant) and isinstance(call.args[1].value, str)):
            return None
        return self._related_row_read(call.args[0], call.args[1].value, call, "hasattr")

    def _related_row_read(self, owner: ast.expr, accessor: str, node: ast.AST, api: str) -> Operation | None:
        """A lookup of the one-to-one child row `owner.accessor` by the parent's key."""
        if not accessor.isidentifier() or not accessor.islower():
            return None
        parent = self._annotated_model(owner) or self._named_model(owner)
        model = RELATED + (f"{parent}.{accessor}" if parent else accessor)
        return Operation(READ, select_sql(model, Lookup((PARENT_FIELD,))), node, api)

    def _related_row_access(self, body: list[ast.stmt]) -> list[Operation]:
        """`return user.profile` (or `profile = user.profile`) as the whole `try` body of an
        `except Profile.DoesNotExist`: Django's reverse one-to-one accessor, a lookup of the
        child row that raises when there is none."""
        if len(body) != 1 or not isinstance(body[0], (ast.Return, ast.Assign)):
            return []
        value = body[0].value
        if not (isinstance(value, ast.Attribute) and isinstance(value.value, ast.Name) and value.value.id not in ("self", "cls")):
            return []
        found = self._related_row_read(value.value, value.attr, value, "accessor")
        return [found] if found is not None else []

    def _collection(self, node: ast.expr) -> str | None:
        """The model of `owner.attribute` when it is a guarded collection of this module:
        `~collection:tags`, or `~collection:Post.tags` for `self.tags` in class Post (a list
        attribute of some other class is then not taken for a model's relationship)."""
        if not (isinstance(node, ast.Attribute) and (ast.unparse(node.value), node.attr) in self.collections):
            return None
        if isinstance(node.value, ast.Name) and node.value.id == "self":
            return collection_model(f"{self.owner.name}.{node.attr}") if self.owner is not None else None
        return collection_model(node.attr)

    def _collection_append(self, call: ast.Call) -> Operation | None:
        """`post.tags.append(tag)` (or `.add`) on a guarded collection: an insert into the
        relationship's association table (the engine knows which, from the models)."""
        func = call.func
        if not (isinstance(func, ast.Attribute) and func.attr in COLLECTION_WRITES and len(call.args) == 1):
            return None
        model = self._collection(func.value)
        if model is None:
            return None
        return Operation(INSERT, insert_sql(model, COLLECTION_FIELDS), call, func.attr)

    def _collection_guard(self, test: ast.expr) -> tuple[Operation, bool] | None:
        """`tag not in post.tags` (the body runs on nothing found) or `tag in post.tags`: a
        lookup of the association row, with whether the test is true on nothing found."""
        test = _unwrap(test)
        if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], (ast.In, ast.NotIn))):
            return None
        model = self._collection(test.comparators[0])
        if model is None:
            return None
        lookup = select_sql(model, Lookup(COLLECTION_FIELDS))
        return Operation(READ, lookup, test, "in"), isinstance(test.ops[0], ast.NotIn)

    def _helper_call(self, call: ast.Call) -> Operation | None:
        """A function or method of this module that inserts (`_make_user(email)`,
        `repo.insert(k)`) or returns a lookup (`repo.exists(k)`) is that insert or lookup."""
        if self.helpers is None:
            return None
        return self.helpers.operation(call, self.function, self.owner, lookups=id(call) in self._guard_calls())

    def _guard_calls(self) -> set[int]:
        """The calls whose result can decide a write: in an `if` test, bound to a name an `if`
        tests, returned, or in the body of a `try` that catches "not found". Only these are
        worth reading another module for (a lookup helper elsewhere costs a parse)."""
        if self._guards is None:
            tested = {name for node in self.nodes if isinstance(node, (ast.If, ast.While, ast.IfExp)) for name in _names(node.test)}
            positions: list[ast.AST] = []
            for node in self.nodes:
                if isinstance(node, (ast.If, ast.While, ast.IfExp)):
                    positions.append(node.test)
                elif isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None and _targets(node) & tested:
                    positions.append(node.value)
                elif isinstance(node, ast.Return) and node.value is not None:
                    positions.append(node.value)
                elif isinstance(node, ast.Try) and any(_catches(h, MISSING_ERRORS) for h in node.handlers):
                    positions.extend(node.body)
            self._guards = {id(c) for position in positions for c in ast.walk(position) if isinstance(c, ast.Call)}
        return self._guards

    def as_helper(self) -> Operation | None:
        """What calling this function does: its first insert (if its SQL is known), else the
        lookup whose result it returns, when true means found (`return row`, `return
        q.exists()`, `return row is not None`; never `return row is None`)."""
        insert = self.first_insert(self.function.body)
        if insert is not None:
            return insert if insert.sql is not None else None
        bound: dict[str, Operation] = {}
        for node in self.nodes:
            if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
                reads = self.ops_in(node.value, (READ,))
                for name in _targets(node) if reads else ():
                    bound[name] = reads[-1]
        returned: list[Operation] = []
        for node in self.nodes:
            if isinstance(node, ast.Return) and node.value is not None and _is_empty_test(node.value) is False:
                reads = self.ops_in(node.value, (READ,))
                returned += reads[-1:] or [bound[n] for n in sorted(_names(node.value)) if n in bound] or self._fetched_before(node)
        sqls = {r.sql for r in returned}
        return returned[0] if len(sqls) == 1 and None not in sqls else None

    def _fetched_before(self, returned: ast.Return) -> list[Operation]:
        """`cur.execute("SELECT ...")` then `return cur.fetchone()`: the row of the last read
        before the return."""
        if not self._fetches(ast.Expr(returned.value)):
            return []
        before = [op for op in self.ops_in(self.function, (READ,)) if _start(op.node) < _start(returned)]
        return before[-1:]

    def inserts(self, hits: list[int]) -> Operation | None:
        """The function's first insert, when its SQL is known: what calling it does."""
        inserts = [op for c in self.facts.calls_on(hits) if (op := self.op(c)) is not None and op.kind == INSERT]
        if not inserts:
            return None
        if any(isinstance(statement, _NOT_LOCAL) for statement in self.function.body):
            insert = self.first_insert(self.function.body)  # a nested def's own calls are read too
        else:  # first_insert without the walk: every insert is among those calls (and in walk order)
            insert = next((min(inside, key=_start_of_node) for statement in self.function.body if (inside := [op for op in inserts if _holds(statement, op.node)])), None)
        return insert if insert is not None and insert.sql is not None else None

    def _add_of_local(self, call: ast.Call) -> Operation | None:
        """`obj = Model(k=v)` (perhaps `obj.other = x`), then `session.add(obj)` or `obj.save()`:
        an insert of the fields set on the local before it is written."""
        name = _call_name(call)
        receiver = call.func.value if isinstance(call.func, ast.Attribute) else None
        if name == "add" and is_session(receiver) and len(call.args) == 1 and (model := self._schema_loaded(call.args[0])):
            return Operation(INSERT, insert_sql(model, None), call, name)  # fields: whatever the request held
        local = _written_local(call)
        if local is None:
            return None
        if not self.facts.may_construct(local.id):
            return None  # a parameter, a loop variable...: not a Model(...) built here
        values = self.scope.reaching(local.id, local) or ()
        # `obj = q.first()` then `if not obj: obj = M()`: the row found is written back by an
        # update, the one built here by an insert
        found = [v for v in values if isinstance(v, ast.Call) and (read := self.op(v)) is not None and read.kind == READ]
        built = [v for v in values if isinstance(v, ast.Call) and not any(v is f for f in found)]
        models = {self.names.model(v.func) for v in built}
        if not built or len(built) + len(found) != len(values) or len(models) != 1 or None in models:
            return None
        model = models.pop()
        fields: list[str] = []
        # A Django model's own __init__ is discouraged (and never seen in the corpus): reading it
        # would parse every models module a view saves through; SQLAlchemy's is common.
        fields_of = self.constructor_fields if name in ("add", "merge") or call.args else field_names
        for value in built:
            written = fields_of(value)
            if written is None:
                return Operation(INSERT, insert_sql(model, None), call, name)
            fields.extend(written)
        for node in self.nodes:  # obj.k = v anywhere before the write
            if isinstance(node, ast.Assign) and node.lineno < call.lineno:
                fields.extend(t.attr for t in node.targets if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == local.id)
            elif isinstance(node, ast.Call) and node.lineno < call.lineno and _call_name(node) == "update" and len(node.args) == 1 \
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == local.id:
                return Operation(INSERT, insert_sql(model, None), call, name)  # obj.update(values): fields unknown
        return Operation(INSERT, insert_sql(model, tuple(dict.fromkeys(fields))), call, name)

    def _schema_loaded(self, node: ast.expr) -> str | None:
        """The model of a new row a marshmallow-sqlalchemy schema built: `response.data`
        (marshmallow 2) or `obj` of `response = schema.load(req, session=db.session)`, where
        `schema = UnlockSchema()` and the project's UnlockSchema has `class Meta: model =
        Unlocks`. A load into an existing `instance=` (or a `partial` one) is an update."""
        if "load" not in self.facts.text():
            return None
        if isinstance(node, ast.Name) and isinstance(value := self._only_value(node), ast.Attribute):
            node = value  # topic = response.data
        holder = node.value if isinstance(node, ast.Attribute) and node.attr == "data" else node
        load = self._only_value(holder) if isinstance(holder, ast.Name) else None
        if not (isinstance(load, ast.Call) and _call_name(load) == "load" and isinstance(load.func, ast.Attribute)):
            return None
        if any(k.arg in ("instance", "partial") for k in load.keywords):
            return None
        schema = load.func.value
        if isinstance(schema, ast.Name):
            schema = self._only_value(schema)
        if not isinstance(schema, ast.Call):
            return None
        cls = self._class_of(schema.func)
        meta = next((m for m in cls.body if isinstance(m, ast.ClassDef) and m.name == "Meta"), None) if cls is not None else None
        for statement in meta.body if meta is not None else ():
            if isinstance(statement, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "model" for t in statement.targets):
                return self.names.model(statement.value)
        return None

    def _only_value(self, name: ast.Name) -> ast.expr | None:
        values = self.scope.reaching(name.id, name) or ()
        return values[0] if len(values) == 1 else None

    def constructor_fields(self, built: ast.Call) -> tuple[str, ...] | None:
        """The fields `Model(...)` sets: its keywords; or, where the project's class defines its
        own `__init__` (`def __init__(self, entry, list_id): self.title = entry["title"]`),
        the attributes that sets on `self` (with the keywords a `super().__init__(**kw)` passes on)."""
        init = self._own_init(built.func)
        if init is None:
            return field_names(built)
        assigned = [t.attr for n in ast.walk(init) if isinstance(n, (ast.Assign, ast.AnnAssign))
                    for t in (n.targets if isinstance(n, ast.Assign) else [n.target])
                    if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "self"]
        if _forwards_keywords(init):
            named = {a.arg for a in (*init.args.args, *init.args.kwonlyargs)}
            passed = field_names(built)
            if passed is None:
                return None
            assigned += [f for f in passed if f not in named]
        return tuple(dict.fromkeys(assigned))

    def _own_init(self, func: ast.expr) -> ast.AST | None:
        """The `__init__` of the class `func` names, where the project defines that class."""
        cls = self._class_of(func)
        if cls is None:
            return None
        return next((m for m in cls.body if isinstance(m, FUNCTION_NODES) and m.name == "__init__"), None)

    def _defines(self, node: ast.expr, method: str) -> bool:
        """Does the project's class `node` names define `method` itself?"""
        cls = self._class_of(node) if isinstance(node, (ast.Name, ast.Attribute)) else None
        return cls is not None and any(isinstance(m, FUNCTION_NODES) and m.name == method for m in cls.body)

    def _class_of(self, func: ast.expr) -> ast.ClassDef | None:
        """The class `func` names, where the project defines it (this module or one it imports)."""
        if isinstance(func, ast.Name) and func.id in self.module.classes:
            return self.module.classes[func.id]
        if self.helpers is not None and self.helpers.imported is not None:
            return self.helpers.imported.class_named(func)
        return None

    def ops_in(self, node: ast.AST, kinds: tuple[str, ...]) -> list[Operation]:
        found = [self.op(n) for n in self.facts.code.calls_in(node)]
        return sorted((o for o in found if o and o.kind in kinds), key=lambda o: (o.node.lineno, o.node.col_offset))

    def _insert_after(self, guard: Operation, statements: list[ast.stmt]) -> Operation | None:
        """The insert a guard decides: the first one into the table the guard reads, as the SQL
        names it (a settings write between `if taken(name): raise` and `create_account(...)`
        is not the idiom's insert); else the first insert."""
        first = None
        table = _table_named(guard.sql, FROM_TABLE)
        for statement in statements:
            for insert in self.ops_in(statement, (INSERT,)):
                if table is None or _table_named(insert.sql, INTO_TABLE) == table:
                    return insert
                first = first or insert
        return first

    def first_insert(self, statements: list[ast.stmt]) -> Operation | None:
        return self.first_of(statements, INSERT)

    def first_of(self, statements: list[ast.stmt], kind: str) -> Operation | None:
        for statement in statements:
            found = self.ops_in(statement, (kind,))
            if found:
                return found[0]
        return None

    def where(self, node: ast.AST) -> Location:
        return Location(self.module.path, node.lineno, node.col_offset + 1)

    def idiom(self, kind: IdiomKind, guard: Operation | None, write: Operation, **extra) -> IdiomCall:
        return IdiomCall(
            kind, self.where(write.node), write.api, guard.sql if guard else None, write.sql,
            self.where(guard.node) if guard else None, self.driver, serialised_by=self._lock_before((guard or write).node),
            violation_handled=self._catches_unique_violation(write), **extra,
        )

    def _catches_unique_violation(self, write: Operation) -> bool:
        """Does the write run inside a `try` of this function whose handler catches the unique
        violation (IntegrityError, UniqueViolation)? Then the loser of a race on a keyed table
        is handled, not an error the caller sees. A SQLAlchemy session (`session.add(...)`)
        stays in its failed transaction after the error: handled only where the handler rolls
        it back or the insert ran in its own savepoint (`begin_nested()`); otherwise the next
        use of the session raises PendingRollbackError."""
        session_write = write.api in SESSION_WRITES
        for node in self.nodes:
            if not (isinstance(node, ast.Try) and any(_holds(s, write.node) for s in node.body)):
                continue
            handlers = [h for h in node.handlers if _catches(h, INTEGRITY_ERRORS)]
            if not handlers:
                continue
            if not session_write or self._in_savepoint(node.body, write):
                return True
            if all(any(_call_name(c) == "rollback" for c in _walk_local(ast.Module(h.body, [])) if isinstance(c, ast.Call)) for h in handlers):
                return True
        return False

    def _lock_before(self, start: ast.AST) -> str | None:
        """A lock the function takes before `start` (the idiom's first call): a `with` / `async
        with` of a lock around it, or a call before it that locks (`select_for_update()`,
        `_lock_order(...)`, `lock.acquire()`, SQL with FOR UPDATE or an advisory lock)."""
        for node in self.nodes:
            if isinstance(node, (ast.With, ast.AsyncWith)) and _holds(node, start):
                for item in node.items:
                    if _names_a_lock(ast.unparse(item.context_expr)):
                        return ast.unparse(item.context_expr)
        for call in self.facts.code.calls_in(self.function):
            if _start(call) >= _start(start):
                continue
            name = _call_name(call) or ""
            sql = self.known_sql.get((call.lineno, call.col_offset + 1)) or ""
            if name in LOCKING_CALLS or _names_a_lock(name) or LOCKING_SQL.search(sql):
                return ast.unparse(call)[:80]
        return None

    # -- shapes ----------------------------------------------------------------------

    def find(self, *hit_lines: list[int]) -> Iterator[IdiomCall]:
        """The idioms; `hit_lines`: (sorted) lists of the lines that hold every insert (and
        every UPDATE written as SQL)."""
        calls = list({id(c): c for lines in hit_lines for c in self.facts.calls_on(lines)}.values())
        singles = [(call, single) for call in calls if _call_name(call) in SINGLE_CALLS and (single := self._single_call(call))]
        seen: set[int] = set()  # an insert belongs to one idiom
        # Every other idiom ends in an insert (or, check-then-update, in an UPDATE): most
        # functions have none, and are done here.
        if any((op := self.op(c)) is not None and (op.kind == INSERT or (op.kind == UPDATE and op.sql)) for c in calls):
            yield from self._multi_statement(seen)
        # A merge() that is the insert of a guarded idiom is judged as that idiom: the guard
        # found no row, so that the merge inserts is what the code means.
        yield from (single for call, single in singles if id(call) not in seen)

    def _multi_statement(self, seen: set[int]) -> Iterator[IdiomCall]:
        # An insert belongs to the nearest guard before it: in `if hasattr(e, "cfp"): return`,
        # then `t = T.objects.filter(...).first()`, `if not t: T.objects.create(...)`, the
        # create is the second guard's (the first one's lookup is of another table).
        # Guards that read the insert's own table are each an idiom of it (`if taken(username):
        # raise`, `if taken(email): raise`, then one insert: two races, two missing keys).
        by_insert: dict[int, list[IdiomCall]] = {}
        for block in _blocks(self.nodes):
            for idiom, insert in (*self._guarded(block), *self._delete_then_insert(block)):
                if id(insert.node) not in seen:
                    by_insert.setdefault(id(insert.node), []).append(idiom)
        for key, idioms in by_insert.items():
            seen.add(key)
            yield from _guards_of_one_insert(idioms)
        for node in self.nodes:
            if isinstance(node, ast.Try):
                for found in self._try_idioms(node):
                    if id(found[1].node) not in seen:
                        seen.add(id(found[1].node))
                        yield found[0]

    def _guarded(self, block: list[ast.stmt]) -> Iterator[tuple[IdiomCall, Operation]]:
        """check-then-insert and update-then-insert: a guard, then `if <nothing found>: insert`."""
        last: Operation | None = None  # the latest read or update in this block
        bound: dict[str, Operation] = {}  # names holding a guard's result (row, rowcount, status)
        flags: dict[str, bool] = {}  # names set by a lookup's "not found" handler: the value it set
        for index, statement in enumerate(block):
            if isinstance(statement, ast.If):
                collection = self._collection_guard(statement.test) if self.collections else None
                if collection is not None:
                    guard, empty = collection
                else:
                    guard = self._guard_of(statement.test, last, bound)
                    empty = _flag_test(statement.test, flags)
                    if empty is None and guard is not None:
                        empty = self._empty_when(statement.test, guard, last, bound)
                if guard is not None and empty is not None:
                    if empty:
                        branch = statement.body
                    else:
                        branch = list(statement.orelse)
                        if statement.body and isinstance(statement.body[-1], _ENDS_PATH):
                            # `if row: return row` then insert, here or after the enclosing
                            # `if account:` / `with conn:` block
                            branch += block[index + 1 :] + self._after(block)
                    insert = self._insert_after(guard, branch)
                    if insert is None and empty:  # `if not row: row = M()`, then `row.save()` after the if
                        insert = self._insert_of_built(branch, block[index + 1 :] + self._after(block))
                    if insert is not None:
                        kind = IdiomKind.CHECK_THEN_INSERT if guard.kind == READ else IdiomKind.UPDATE_THEN_INSERT
                        yield self.idiom(kind, guard, insert), insert
                    elif guard.kind == READ and (update := self.first_of(branch, UPDATE)) is not None:
                        # `if taken(name): return "taken"` then `UPDATE users SET name = ...`
                        yield self.idiom(IdiomKind.CHECK_THEN_UPDATE, guard, update), update
                continue
            if isinstance(statement, ast.Try) and (caught := self._lookup_caught(statement)) is not None:
                last = caught[0]
                bound.update(caught[1])
                flags.update(caught[2])
                if statement.orelse and isinstance(statement.orelse[-1], _ENDS_PATH):
                    # `except NoResultFound: pass` / `else: raise Conflict`: what follows found nothing
                    insert = self._insert_after(last, block[index + 1 :] + self._after(block))
                    if insert is not None:
                        yield self.idiom(IdiomKind.CHECK_THEN_INSERT, last, insert), insert
                continue
            if not isinstance(statement, SIMPLE_STATEMENTS):
                continue
            guards = self.ops_in(statement, (READ, UPDATE))
            if guards:
                last = guards[-1]
                for name in _targets(statement):
                    bound[name] = last
            elif last is not None and self._fetches(statement):
                for name in _targets(statement):  # cur.execute(...) then row = cur.fetchone()
                    bound[name] = last

    def _insert_of_built(self, branch: list[ast.stmt], later: list[ast.stmt]) -> Operation | None:
        """The first later insert of a local the branch binds to a new model object."""
        built = {name for statement in branch if isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Call)
                 and self.names.model(statement.value.func) for name in _targets(statement)}
        if not built:
            return None
        for statement in later:
            for insert in self.ops_in(statement, (INSERT,)):
                local = _written_local(insert.node)
                if local is not None and local.id in built:
                    return insert
        return None

    def _lookup_caught(self, node: ast.Try) -> tuple[Operation, dict[str, Operation], dict[str, bool]] | None:
        """`try: row = get_by_name(n)` / `except NoResultFound: row = None` (or `missing = True`,
        or `pass` then `else: raise Conflict`): a lookup that raises on nothing found, its result
        told apart after the `try` by the names it binds, and by the flags the handler sets
        (name -> the value meaning nothing found)."""
        handlers = [h for h in node.handlers if _catches(h, MISSING_ERRORS)]
        reads = self.ops_in(ast.Module(node.body, []), (READ,))
        if not handlers or not reads or node.finalbody:
            return None
        bound = {name: reads[-1] for statement in node.body if isinstance(statement, SIMPLE_STATEMENTS)
                 and self.ops_in(statement, (READ,)) for name in _targets(statement)}
        flags: dict[str, bool] = {}
        for statement in (s for h in handlers for s in h.body):
            if isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Constant) and isinstance(statement.value.value, bool):
                for name in _targets(statement) - bound.keys():
                    flags[name] = statement.value.value
                    bound[name] = reads[-1]
        return reads[-1], bound, flags

    def _after(self, block: list[ast.stmt]) -> list[ast.stmt]:
        """What runs once `block` (the body of an `if`, `with` or `try` of this function) has run
        to its end: the statements after that statement, and after its own block in turn. A
        loop's body is followed by the loop again: nothing is certain there."""
        if self._parents is None:
            self._parents = {}
            for outer in _blocks(self.nodes):
                for index, statement in enumerate(outer):
                    for inner in _statement_lists(statement):
                        self._parents[id(inner)] = (statement, outer, index)
        found = self._parents.get(id(block))
        if found is None or isinstance(found[0], (ast.For, ast.AsyncFor, ast.While)):
            return []
        _statement, outer, index = found
        return outer[index + 1 :] + self._after(outer)

    def _empty_when(self, test: ast.expr, guard: Operation, last: Operation | None, bound: dict[str, Operation]) -> bool | None:
        """As _is_empty_test; in `if authed() and X.query...first() is None:` the body runs only
        when the guard found nothing, in `if name and taken(name):` only when it found a row
        (with `or`, nothing is certain)."""
        if not (isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And)):
            return _is_empty_test(test)
        parts = [v for v in test.values if self._guard_of(v, last, bound) is guard]
        if len(parts) != 1 or not self._tests_the_result(parts[0], bound):
            return None
        empty = _is_empty_test(parts[0])
        if empty is False:
            # `if account.username and await get_by_username(account.username): raise`: the
            # other terms only ask whether there is a value to look up, so the code after it is
            # the path that found none. (`if active and found(name): return` is not: inactive,
            # it inserts whatever the table holds.)
            looked_up = {ast.unparse(a) for c in ast.walk(guard.node) if isinstance(c, ast.Call) for a in (*c.args, *(k.value for k in c.keywords))}
            others = [v for v in test.values if v is not parts[0]]
            return False if all(ast.unparse(_unwrap(v)) in looked_up for v in others) else None
        return empty

    def _tests_the_result(self, node: ast.expr, bound: dict[str, Operation]) -> bool:
        """Does the term test the lookup's result itself (`row is None`, `not q.first()`), not
        something of it (`user.team_id is None` is about a found row)?"""
        node = _unwrap(node)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            node = _unwrap(node.operand)
        if isinstance(node, ast.Compare):
            node = _unwrap(node.left)
        return (isinstance(node, ast.Name) and node.id in bound) or (isinstance(node, ast.Call) and bool(self.ops_in(node, (READ,))))

    def _fetches(self, statement: ast.stmt) -> bool:
        return any(_call_name(n) in ROW_FETCHES for n in self.facts.code.calls_in(statement))

    def _guard_of(self, test: ast.expr, last: Operation | None, bound: dict[str, Operation]) -> Operation | None:
        inline = self.ops_in(test, (READ, UPDATE))
        if inline:
            return inline[-1]  # if not Avatar.objects.filter(...).exists():
        names = _names(test)
        for name in names:
            if name in bound:
                return bound[name]
        if last is not None and last.kind == UPDATE and any(isinstance(n, ast.Attribute) and n.attr == "rowcount" for n in ast.walk(test)):
            return last  # cur.execute(UPDATE ...) then if cur.rowcount == 0
        if last is not None and last.kind == READ and self._fetches(ast.Expr(test)):
            return last  # cur.execute(SELECT ...) then if cur.fetchone() is None
        return None

    def _delete_then_insert(self, block: list[ast.stmt]) -> Iterator[tuple[IdiomCall, Operation]]:
        for index, statement in enumerate(block):
            if not isinstance(statement, SIMPLE_STATEMENTS):
                continue
            deletes = self.ops_in(statement, (DELETE,))
            if deletes:
                insert = self.first_insert(block[index + 1 :])
                if insert is not None:
                    yield self.idiom(IdiomKind.DELETE_THEN_INSERT, deletes[-1], insert), insert

    def _try_idioms(self, node: ast.Try) -> Iterator[tuple[IdiomCall, Operation]]:
        """try: insert / except IntegrityError: update; try: get / except DoesNotExist: insert."""
        for handler in node.handlers:
            if _catches(handler, INTEGRITY_ERRORS):
                inserts = self.ops_in(ast.Module(node.body, []), (INSERT,))
                updates = self.ops_in(ast.Module(handler.body, []), (UPDATE,))
                if inserts and updates:
                    yield self.idiom(
                        IdiomKind.INSERT_EXCEPT_INTEGRITY_ERROR, updates[0], inserts[0],
                        savepoint=self._in_savepoint(node.body, inserts[0]),
                        narrow_except=all(n.endswith(UNIQUE_ONLY_ERRORS) for n in _caught_names(handler.type)) or _checks_unique_code(handler),
                    ), inserts[0]
            elif _catches(handler, MISSING_ERRORS):
                reads = self.ops_in(ast.Module(node.body, []), (READ,)) or self._related_row_access(node.body)
                insert = self.first_insert(handler.body)
                if reads and insert is not None:
                    yield self.idiom(IdiomKind.CHECK_THEN_INSERT, reads[-1], insert), insert

    def _in_savepoint(self, body: list[ast.stmt], insert: Operation) -> bool:
        """Does the insert run in its own savepoint (`with conn.transaction():`,
        `transaction.atomic()`, `session.begin_nested()`, or an explicit SAVEPOINT)?"""
        for node in _walk_local(ast.Module(body, [])):
            if isinstance(node, (ast.With, ast.AsyncWith)):
                opens = any(isinstance(i.context_expr, ast.Call) and _call_name(i.context_expr) in SAVEPOINT_CALLS for i in node.items)
                if opens and any(n is insert.node for n in _walk_local(node)):
                    return True
            if isinstance(node, ast.Call):
                operation_sql = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
                if any(s.lstrip().upper().startswith("SAVEPOINT") for s in operation_sql):
                    return True
        return False

    def _get_or_create_model(self, receiver: ast.expr | None) -> tuple[str | None, bool]:
        """Which model an ORM get_or_create writes, and whether through a reverse accessor (the
        parent's key then joins the lookup); None when the call is not the ORM's."""
        if isinstance(receiver, ast.Attribute) and receiver.attr == "objects":
            return self.names.model(receiver.value), False  # Model.objects.get_or_create
        if self.names.is_manager(receiver):
            return self.names.manager, False  # self.get_or_create in a custom manager
        if (model := self.names.model(receiver)) is not None:
            return peewee_class_model(model), False  # Model.get_or_create: peewee's, or the project's own
        if isinstance(receiver, ast.Attribute) and receiver.attr.islower():
            # basket.items.get_or_create(sku=s); with `basket: Basket` known, Basket's `items`
            # (several models may have an accessor of that name on different parents)
            parent = self._annotated_model(receiver.value) or self._named_model(receiver.value)
            return RELATED + (f"{parent}.{receiver.attr}" if parent else receiver.attr), True
        return None, False

    def _single_call(self, call: ast.Call) -> IdiomCall | None:
        name = _call_name(call)
        receiver = call.func.value if isinstance(call.func, ast.Attribute) else None
        if name in GET_OR_CREATE:
            model, parent = self._get_or_create_model(receiver)
            if model is None:
                return None
            call = self._spread(call)
            lookup = django_lookup(call)
            if parent:
                lookup = lookup + Lookup((PARENT_FIELD,))
            written = field_names(call)
            defaults = _defaults_fields(call)
            fields = None if written is None or defaults is None else tuple(dict.fromkeys((*lookup.exact, *defaults)))
            return IdiomCall(
                IdiomKind.GET_OR_CREATE, self.where(call), name, select_sql(model, lookup), insert_sql(model, fields),
                self.where(call), self.driver, serialised_by=self._lock_before(call),
            )
        if name == "merge" and is_session(receiver) and len(call.args) == 1:
            built = self._constructed(call.args[0])
            if built is not None:
                model, fields = self.names.model(built.func), self.constructor_fields(built)
            elif (model := self._annotated_model(call.args[0])) is not None:
                fields = None  # an instance from elsewhere: which fields (its primary key?) it carries is not known
            else:
                return None
            return IdiomCall(
                IdiomKind.SESSION_MERGE, self.where(call), name, None, insert_sql(model, fields), None, self.driver, serialised_by=self._lock_before(call),
            )
        return None

    def _spread(self, call: ast.Call) -> ast.Call:
        """The call with `**fields` written out as keywords where `fields` is a dict literal or
        `dict(k=v)`, inline or in a local of this function: its keys are the lookup's fields."""
        keywords: list[ast.keyword] = []
        changed = False
        for keyword in call.keywords:
            spread = self._dict_keywords(keyword.value) if keyword.arg is None else None
            if spread is None:
                keywords.append(keyword)
            else:
                keywords.extend(spread)
                changed = True
        if not changed:
            return call
        # Keep the whole position: the lock finder compares where the call ends.
        return ast.copy_location(ast.Call(call.func, call.args, keywords), call)

    def _dict_keywords(self, node: ast.expr) -> list[ast.keyword] | None:
        if isinstance(node, ast.Name):
            values = self.scope.reaching(node.id, node) or ()
            node = values[0] if len(values) == 1 and isinstance(values[0], ast.expr) else node
        if isinstance(node, ast.Dict) and all(isinstance(k, ast.Constant) and isinstance(k.value, str) for k in node.keys):
            return [ast.keyword(k.value, v) for k, v in zip(node.keys, node.values)]
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict" and not node.args:
            return list(node.keywords) if all(k.arg for k in node.keywords) else None
        return None

    def _annotated_model(self, node: ast.expr) -> str | None:
        """The model class a parameter or local is annotated with: `tag: Tag`, `tag: "Tag"`,
        `tag: Optional[Tag]`, `tag: Tag | None`."""
        if not isinstance(node, ast.Name):
            return None
        arguments = getattr(self.function, "args", None)
        annotations = [a.annotation for a in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs] if a.arg == node.id] if arguments else []
        annotations += [n.annotation for n in self.nodes if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name) and n.target.id == node.id]
        models = {_annotation_model(a) for a in annotations if a is not None}
        return models.pop() if len(models) == 1 else None

    def _named_model(self, node: ast.expr) -> str | None:
        """`order` for a class `Order` the module imports (`order_line` for `OrderLine`): an
        un-annotated parameter or local named after a model."""
        if not isinstance(node, ast.Name):
            return None
        camel = "".join(part.capitalize() for part in node.id.split("_"))
        return camel if camel in self.module.imports else None

    def _constructed(self, node: ast.expr) -> ast.Call | None:
        """`Model(...)` inline, or a local bound once to it."""
        if isinstance(node, ast.Name) and self.scope.assigned_once:
            node = self.scope.assigned_once.get(node.id, node)
        if isinstance(node, ast.Call) and self.names.model(node.func):
            return node
        return None


FROM_TABLE = re.compile(r'\bFROM\s+("[^"]+"|`[^`]+`|[\w.]+)', re.I)
INTO_TABLE = re.compile(r'\bINTO\s+("[^"]+"|`[^`]+`|[\w.]+)', re.I)


def _table_named(sql: str | None, pattern: re.Pattern) -> str | None:
    """The first table the SQL names after FROM / INTO, as written (a model placeholder too)."""
    found = pattern.search(sql or "")
    return found[1].lower() if found else None


def _guards_of_one_insert(idioms: list[IdiomCall]) -> list[IdiomCall]:
    """The idioms one insert is the write of: each guard that reads the table it writes (one
    per distinct lookup), else the nearest guard before it."""
    own = {}
    for idiom in sorted(idioms, key=_guard_start):
        table = _table_named(idiom.write_sql, INTO_TABLE)
        if table is not None and _table_named(idiom.guard_sql, FROM_TABLE) == table and idiom.kind is IdiomKind.CHECK_THEN_INSERT:
            own.setdefault(idiom.guard_sql, idiom)
    return list(own.values()) if own else [max(idioms, key=_guard_start)]


def _guard_start(idiom: IdiomCall) -> tuple[int, int]:
    where = idiom.guard_location or idiom.location
    return where.line, where.column


def _annotation_model(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        try:
            node = ast.parse(node.value, mode="eval").body
        except SyntaxError:
            return None
    if isinstance(node, ast.Subscript) and isinstance(node.value, (ast.Name, ast.Attribute)) and getattr(node.value, "id", getattr(node.value, "attr", "")) == "Optional":
        node = node.slice
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr) and isinstance(node.right, ast.Constant) and node.right.value is None:
        node = node.left
    return Names().model(node)


def _is_classmethod(function: ast.AST) -> bool:
    return any(isinstance(d, ast.Name) and d.id == "classmethod" for d in getattr(function, "decorator_list", ()))


MANAGER_BASES = ("Manager", "QuerySet")


def _is_manager_class(node: ast.ClassDef) -> bool:
    """A custom manager or queryset: a base named `...Manager` / `...QuerySet`
    (`models.Manager["Profile"]` too), or `Manager.from_queryset(...)`."""
    for base in node.bases:
        base = base.value if isinstance(base, ast.Subscript) else base
        if isinstance(base, ast.Call) and isinstance(base.func, ast.Attribute) and base.func.attr == "from_queryset":
            return True
        name = base.attr if isinstance(base, ast.Attribute) else base.id if isinstance(base, ast.Name) else ""
        if name.endswith(MANAGER_BASES):
            return True
    return False


def _names_of(function: ast.AST, owner: ast.ClassDef | None) -> Names:
    """In a classmethod `cls` is the class; in a plain method of a custom manager or queryset
    `self` is the manager of the model that places the class."""
    if owner is None:
        return Names()
    if _is_classmethod(function):
        return Names(cls=owner.name)
    arguments = getattr(function, "args", None)
    first = arguments.args[0].arg if arguments is not None and arguments.args else None
    decorators = {d.id if isinstance(d, ast.Name) else getattr(d, "attr", None) for d in getattr(function, "decorator_list", ())}
    if first == "self" and not decorators & {"staticmethod", "property", "cached_property"} and _is_manager_class(owner):
        return Names(manager=manager_model(owner.name))
    return Names()


def _defaults_fields(call: ast.Call) -> tuple[str, ...] | None:
    """Field names in `defaults={...}` / `create_defaults={...}`; None if not a literal dict."""
    fields: list[str] = []
    for keyword in call.keywords:
        if keyword.arg in ("defaults", "create_defaults"):
            if not isinstance(keyword.value, ast.Dict) or not all(isinstance(k, ast.Constant) for k in keyword.value.keys):
                return None
            fields += [k.value for k in keyword.value.keys]
    return tuple(fields)


def _catches(handler: ast.excepthandler, errors: tuple[str, ...]) -> bool:
    """Does the handler catch one of the errors (by the exception class's last name)?"""
    return any(n.endswith(errors) for n in _caught_names(handler.type))


def _caught_names(node: ast.expr | None) -> list[str]:
    if node is None:
        return []
    items = node.elts if isinstance(node, ast.Tuple) else [node]
    return [i.attr if isinstance(i, ast.Attribute) else i.id if isinstance(i, ast.Name) else "" for i in items]


def _checks_unique_code(handler: ast.excepthandler) -> bool:
    """The handler looks at the error's code (`pgcode == "23505"`, `args[0] == 1062`)."""
    return any(isinstance(n, ast.Constant) and n.value in ("23505", 1062, "1062") for n in ast.walk(handler))


# `if tag not in post.tags:` then `post.tags.append(tag)`: a relationship collection the code
# checks before it appends (SQLAlchemy writes the association row at the flush).
COLLECTION_GUARD = re.compile(r"not\s+in\s+(?P<owner>[A-Za-z_][\w.]*)\.(?P<attribute>[A-Za-z_]\w*)\s*:")
COLLECTION_WRITES = ("append", "add")
COLLECTION_FIELDS = (PARENT_FIELD, COLLECTION_ITEM)


def collection_guards(source: str) -> frozenset[tuple[str, str]]:
    """(owner as written, attribute) of every `x not in owner.attribute:` that the module also
    appends to (`owner.attribute.append(`): usually none, found without parsing."""
    if " not in " not in source or not any(f".{verb}(" in source for verb in COLLECTION_WRITES):
        return frozenset()
    found = set()
    index = source.find("not in ")
    while index != -1:  # each hit checked where it stands (a regex over the file costs more)
        match = COLLECTION_GUARD.match(source, index)
        if match and any(f"{match['owner']}.{match['attribute']}.{verb}(" in source for verb in COLLECTION_WRITES):
            found.add((match["owner"], match["attribute"]))
        index = source.find("not in ", index + 7)
    return frozenset(found)


def _collection_write_lines(source: str, collections: frozenset[tuple[str, str]]) -> list[int]:
    needles = [f"{owner}.{attribute}.{verb}" for owner, attribute in collections for verb in COLLECTION_WRITES]
    return _lines_calling(source, needles, whole_word=False) if needles else []


def _write_hint_lines(source: str) -> list[int]:
    """Lines calling a method named like a write (`.create(`, `.save (`): substring search for
    each name, the way the pre-filter finds execute calls (a regex would try every `.`)."""
    return _lines_calling(source, WRITE_HINT, whole_word=False)


def _call_lines(source: str, names: set[str]) -> list[int]:
    """Lines calling one of the names (`name(`, `obj.name (`)."""
    return _lines_calling(source, sorted(names), whole_word=True)


def _lines_calling(source: str, needles, whole_word: bool) -> list[int]:
    positions = []
    for needle in needles:
        index = source.find(needle)
        while index != -1:
            end = index + len(needle)
            before = source[index - 1] if index else " "
            if _OPEN_PAREN.match(source, end) and not (whole_word and (before.isalnum() or before == "_")):
                positions.append(index)
            index = source.find(needle, end)
    return sorted(set(lines_at(sorted(positions), source)))


def known_sql_of(sql_calls: list[SqlCall]) -> dict[tuple[int, int], str | None]:
    """Each execute call's SQL by its (line, column). SQL with a part built at run time is not
    read as either half of an idiom: a lookup or insert with an unknown piece cannot be paired
    by its key; nor is a call that may run one of several statements."""
    known_sql: dict[tuple[int, int], str | None] = {}
    for c in sql_calls:
        where = (c.location.line, c.location.column)
        known_sql[where] = None if c.holes or where in known_sql else c.sql
    return known_sql


def find_idioms(
    tree: ast.Module, source: str, module: ModuleInfo, sql_calls: list[SqlCall], driver: str | None,
    imported: ImportedHelpers | None = None, inserting: list[tuple[str, str]] | None = None,
) -> list[IdiomCall]:
    """The idioms of one module; `sql_calls` are its execute calls with their SQL already folded.
    `imported`: the project's functions this module imports, with those known to insert (a
    later round: only the functions calling those are read, as inserts).
    `inserting` receives this module's own module-level functions that insert, with their INSERT."""
    known_sql = known_sql_of(sql_calls)
    inserts = {c.location.line for c in sql_calls if c.sql and (INSERT_SQL.match(c.sql) or UPDATE_SQL.match(c.sql))}
    collections = collection_guards(source)
    hits = sorted(inserts.union(_write_hint_lines(source), _collection_write_lines(source, collections)))
    if imported is not None and imported.wanted:
        # A later round: the first pass found this module's other idioms already; only the
        # functions that call the project's inserting functions of other modules are read now.
        hits = sorted(set(_call_lines(source, imported.call_lines_needles(source))))
    if not hits:
        return []
    facts: dict[int, FunctionFacts] = {}
    lines = source.splitlines(keepends=True)

    def reader(function: ast.AST, owner: ast.ClassDef | None, helpers: ModuleHelpers | None = None) -> FunctionIdioms:
        if id(function) not in facts:
            facts[id(function)] = FunctionFacts(function, lines)
        return FunctionIdioms(function, module, known_sql, driver, owner, helpers, facts[id(function)], collections)

    write_hits = hits
    # A helper of this module is read one level deep; its own calls of the project's functions
    # in other modules are resolved too (a service calling the crud).
    elsewhere = ModuleHelpers.of_imports(imported) if imported is not None else None
    helpers = ModuleHelpers(tree, lambda function, owner: reader(function, owner, elsewhere).as_helper(),
                            lambda function, owner: reader(function, owner, elsewhere).inserts(write_hits), imported)
    own_inserting = helpers.inserting_names(lambda function: spans_hit(function, hits))
    line_sets = [hits]  # the calls on these lines were looked at already, for the helpers
    if own_inserting:  # functions that call one are read too
        calling = sorted(set(_call_lines(source, own_inserting)) - set(hits))
        hits = sorted(set(hits).union(calling))
        line_sets.append(calling)
    if inserting is not None:  # module-level functions that insert, through this module's helpers too
        inserting.extend(sorted(
            (function.name, first.sql) for function, _owner in helpers.functions.values()
            if spans_hit(function, hits) and (first := reader(function, None, helpers).first_insert(function.body)) is not None and first.sql
        ))
    found: list[IdiomCall] = []
    for function, owner in _functions(tree.body, hits):
        found.extend(reader(function, owner, helpers).find(*line_sets))
    aliases = model_aliases(module)
    if aliases:
        found = [dataclasses.replace(i, guard_sql=unalias(i.guard_sql, aliases), write_sql=unalias(i.write_sql, aliases)) for i in found]
    return sorted(found, key=lambda i: (i.location.line, i.location.column))


def model_aliases(module: ModuleInfo) -> dict[str, str]:
    """`from ..db import TelegramFile as DBTelegramFile`: the alias names the class TelegramFile."""
    return {alias: attribute for alias, (_, attribute) in module.imports.items() if attribute and attribute != alias and attribute[:1].isupper()}


def unalias(sql: str | None, aliases: dict[str, str]) -> str | None:
    """Model placeholders named by an import alias, named by the class instead."""
    if sql is None:
        return None
    return MODEL_NAME.sub(lambda m: m[1] + aliases.get(m[2], m[2]), sql)


MODEL_NAME = re.compile(r'("<(?:model|field|values):)([A-Za-z_]\w*)')
