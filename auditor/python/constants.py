"""Constant folding of SQL arguments: what string an expression is, without running it.

Resolved: string literals, implicit concatenation, `+`, f-strings, `"..." % (...)`,
`"...".format(...)` and `sep.join([...])`, names bound once at module level (in this
module or imported from another project module), and local names bound once in the
enclosing function. SQLAlchemy's `text("...")` is unwrapped to its string.

Use what is known: where constant text is combined with a run-time value (a table name
passed in, a column list joined at run time), the value is Folded with that piece as a
hole (`auditor.sql.holes.HOLE`) and the reason kept, so the rules that do not need that
piece still run. An expression with no constant text at all, or whose statement begins
with a hole, is Unresolved, with the reason, so the summary can count it; a value that is
clearly not a string at all (a SQLAlchemy `insert(...)` construct, psycopg's
`sql.SQL(...)`) is NotSql and skipped.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field, replace

from auditor.python.modules import ModuleInfo, ProjectIndex
from auditor.python.reaching import LoopItem, Reaching, Unknown
from auditor.sql.holes import HOLE

MAX_DEPTH = 32  # constant chains longer than this are treated as unresolved

# Calls that build statement objects, not strings: another extractor's business.
STATEMENT_BUILDERS = {
    "insert", "select", "update", "delete", "pg_insert", "sqlite_insert", "mysql_insert",
    "SQL", "Composed", "Identifier", "Literal", "Query", "table", "Table", "lambda_stmt", "union", "union_all",
}
# Expressions whose value can never be SQL text.
NOT_TEXT = (ast.List, ast.Tuple, ast.Set, ast.Dict, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.Lambda)
TEXT_WRAPPERS = {"text"}  # sqlalchemy.text / sa.text: unwrap to its string argument
TEXT_FUNCTIONS = {"dedent", "cleandoc"}  # textwrap.dedent / inspect.cleandoc: whitespace only
# Methods whose result is the receiver's statement: SQLAlchemy's TextClause options, str whitespace.
TEXT_METHODS = {"bindparams", "columns", "execution_options", "strip", "lstrip", "rstrip"}
PSYCOPG_COMPOSABLES = {"SQL", "Identifier"}  # psycopg(2).sql pieces that fold to text
SEQUENCE_COPIES = {"list", "tuple", "sorted"}  # the same items as their argument (sorted: for names, order does not matter)


@dataclass(frozen=True)
class Folded:
    value: str
    module: ModuleInfo  # where the string was written
    node: ast.AST  # the expression that holds the text
    via_name: bool  # reached through a constant (then the origin is a related location)
    holes: tuple[str, ...] = ()  # why each HOLE in `value` is unknown, in order

    @property
    def complete(self) -> bool:
        return not self.holes


@dataclass(frozen=True)
class Unresolved:
    reason: str


class NotSql:
    """The argument is a statement object, not a SQL string."""


NOT_SQL = NotSql()


def _callee_name(call: ast.Call) -> str | None:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _receiver(call: ast.Call) -> ast.AST | None:
    """`x` of `x.where(...).limit(...)`: what a method chain starts from."""
    node = call.func
    while isinstance(node, ast.Attribute):
        node = node.value
        if isinstance(node, ast.Call):
            node = node.func
    return node


def _chain_root(node: ast.AST) -> ast.AST:
    """`insert(t).on_conflict_do_update(...).returning(...)` -> `insert(t)`."""
    while isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Call):
        node = node.func.value
    return node


def parameter_reason(name: str) -> str:
    return f"name {name!r} is a function parameter"


PARAMETER_REASON = re.compile(r"^name '(\w+)' is a function parameter$")


@dataclass(frozen=True)
class Argument:
    """What one call passes for a parameter (or one item a comprehension's variable takes):
    an expression to fold where the call is written, in that module and scope."""

    node: ast.expr
    module: ModuleInfo
    scope: "Scope | None"


@dataclass
class Scope:
    """Names bound in the enclosing function: parameters, single plain assignments, and for
    any name the assignments that reach a given use of it (auditor.python.reaching).

    `bound` evaluates the function for one call of it: a parameter starts as the Argument the
    call passes (a later assignment in the function still wins), and a comprehension's
    variable is the Argument of one item."""

    parameters: frozenset[str] = frozenset()
    assigned_once: dict[str, ast.expr] | None = None
    rebound: frozenset[str] = frozenset()
    function: ast.AST | None = None
    stored: frozenset[str] = frozenset()  # names the function binds (Name stores)
    walrus: frozenset[str] = frozenset()  # names it binds with :=
    bound: dict[str, Argument] = field(default_factory=dict)
    _reaching: dict = field(default_factory=dict)

    def binding(self, bound: dict[str, Argument]) -> "Scope":
        """This function's scope for one call, or for one item of a comprehension."""
        return replace(self, bound={**self.bound, **bound}, _reaching={})

    def reaching(self, name: str, use: ast.AST) -> tuple | None:
        """The values of local `name` that may reach `use` (an Argument for a bound parameter,
        Unknown for an unbound one and other bindings that are not plain assignments); None or ()
        when the function does not bind it there."""
        parameter = name in self.parameters
        if name in self.bound and not parameter:  # a comprehension's variable, for one item
            return (self.bound[name],)
        if self.function is None:
            return None
        start = self.bound.get(name) or Unknown(parameter_reason(name))
        if name not in self.stored:  # the common cases, without reading the function's flow
            return (start,) if parameter else None
        if not parameter and self.assigned_once and name in self.assigned_once:
            return (self.assigned_once[name],)
        if name not in self._reaching:
            self._reaching[name] = Reaching(self.function, name, (start,) if parameter else (), name in self.walrus)
        return self._reaching[name].at(use)

    @classmethod
    def of_function(cls, function: ast.AST) -> "Scope":
        args = function.args
        parameters = {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]}
        parameters |= {a.arg for a in (args.vararg, args.kwarg) if a}
        stores: dict[str, int] = {}
        values: dict[str, ast.expr] = {}
        walrus: set[str] = set()
        for node in ast.walk(function):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                stores[node.id] = stores.get(node.id, 0) + 1
            elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                values[node.targets[0].id] = node.value
            elif isinstance(node, ast.NamedExpr):
                walrus.add(node.target.id)
        rebound = frozenset(n for n, c in stores.items() if c > 1)
        return cls(frozenset(parameters), {n: v for n, v in values.items() if n not in rebound}, rebound, function, frozenset(stores), frozenset(walrus))


MAX_CHOICES = 16  # possible values of one expression checked at most


class ConstantFolder:
    def __init__(self, index: ProjectIndex):
        self.index = index
        self._plan: list[int] = []  # which value each choice point takes in this pass (fold_all)
        self._taken: list[tuple[int, int]] = []  # (value taken, values possible) per choice point

    def fold_all(self, node: ast.AST, module: ModuleInfo, scope: Scope | None = None) -> list:
        """Every value the expression may have, one per combination of the values its names
        may have (a name assigned in if/else branches): each is folded like `fold`."""
        results, plans = [], [[]]
        while plans and len(results) < MAX_CHOICES:
            self._plan, self._taken = plans.pop(), []
            try:
                result = self.fold(node, module, scope)
            finally:
                plan, taken, self._plan, self._taken = self._plan, self._taken, [], []
            if not any(result == r for r in results):
                results.append(result)
            for point in range(len(plan), len(taken)):  # the other values of each new choice point
                plans.extend([value for value, _ in taken[:point]] + [other] for other in range(taken[point][1] - 1, 0, -1))
        return results

    def _pick(self, count: int) -> int:
        """Which of `count` possible values to follow in this pass."""
        point = len(self._taken)
        value = self._plan[point] if point < len(self._plan) else 0
        self._taken.append((value, count))
        return value

    def fold(self, node: ast.AST, module: ModuleInfo, scope: Scope | None = None, depth: int = 0) -> Folded | Unresolved | NotSql:
        result = self._fold(node, module, scope, depth)
        if depth == 0 and isinstance(result, Folded) and result.holes and result.value.lstrip(" \t\n(").startswith(HOLE):
            return Unresolved(result.holes[0])  # not even the kind of statement is known
        return result

    def complete(self, node: ast.AST, module: ModuleInfo, scope: Scope | None = None) -> Folded | Unresolved | NotSql:
        """Like fold, but a value with any unknown part is Unresolved: for names (a table
        argument, a column) that are either known whole or not at all."""
        result = self.fold(node, module, scope)
        return Unresolved(result.holes[0]) if isinstance(result, Folded) and result.holes else result

    def _fold(self, node: ast.AST, module: ModuleInfo, scope: Scope | None = None, depth: int = 0) -> Folded | Unresolved | NotSql:
        if depth > MAX_DEPTH:
            return Unresolved("constant chain too deep")
        fold = lambda n, s=scope, m=module: self.fold(n, m, s, depth + 1)  # noqa: E731
        if isinstance(node, Argument):  # a parameter's value at one call: folded where the call is
            return self.fold(node.node, node.module, node.scope, depth + 1)
        if isinstance(node, LoopItem):
            return self._fold_loop_item(node, module, scope, depth)
        if isinstance(node, ast.Constant):
            if isinstance(node.value, str):
                return Folded(node.value, module, node, False)
            if isinstance(node.value, bytes):
                return Folded(node.value.decode("utf-8", "replace"), module, node, False)
            return NOT_SQL  # a number, None, True: `something.fetch(101)` is not a statement
        if isinstance(node, NOT_TEXT):  # `pipeline.execute([...])`, `fetch({...})`: not a statement either
            return NOT_SQL
        if isinstance(node, ast.JoinedStr):
            return self._fold_fstring(node, module, scope, depth)
        if isinstance(node, ast.BinOp):
            return self._fold_binop(node, module, scope, depth)
        if isinstance(node, ast.Name):
            return self._fold_name(node.id, module, scope, depth, node)
        if isinstance(node, ast.Attribute):
            return self._fold_attribute(node, module, depth)
        if isinstance(node, ast.Call):
            name = _callee_name(node)
            if name in TEXT_WRAPPERS and node.args:
                return fold(node.args[0])
            if name in TEXT_FUNCTIONS and len(node.args) == 1 and not node.keywords:
                return fold(node.args[0])  # dedent("..."): the same statement, other whitespace
            if name in TEXT_METHODS and isinstance(node.func, ast.Attribute):
                return fold(node.func.value)  # text("...").bindparams(...), "...".strip()
            if name == "Placeholder":  # psycopg sql.Placeholder(): a %s
                return Folded("%s", module, node, False)
            if name in PSYCOPG_COMPOSABLES and len(node.args) == 1:  # psycopg sql.SQL("...") / Identifier("t")
                return self._fold_composable(name, node.args[0], module, scope, depth)
            if name == "format" and isinstance(node.func, ast.Attribute):
                return self._fold_format(node, module, scope, depth)
            if name == "join" and isinstance(node.func, ast.Attribute) and len(node.args) == 1 and not node.keywords:
                return self._fold_join(node, module, scope, depth)
            root = _chain_root(node)
            if _callee_name(root) in STATEMENT_BUILDERS:
                return NOT_SQL
            receiver = _receiver(root)
            if isinstance(receiver, ast.Name) and isinstance(self.fold(receiver, module, scope, depth + 1), NotSql):
                return NOT_SQL  # stmt = select(...); stmt.where(...): a statement object, built in steps
            return Unresolved(f"the SQL is the result of a call to {name or 'an expression'}()")
        return Unresolved(f"a {type(node).__name__} expression is not a constant")

    def _fold_name(self, name: str, module: ModuleInfo, scope: Scope | None, depth: int, use: ast.AST | None = None):
        values = scope.reaching(name, use) if scope is not None and use is not None else None
        if values:  # a local: the assignments that reach this use (not a separate origin)
            value = values[self._pick(len(values))] if len(values) > 1 else values[0]
            if isinstance(value, Unknown):
                return Unresolved(value.reason)
            return self.fold(value, module, scope, depth + 1)
        if scope is not None and name in scope.parameters:
            return Unresolved(parameter_reason(name))
        if name in module.rebound:
            return Unresolved(f"name {name!r} is assigned more than once in {module.path}")
        if name in module.constants:
            result = self.fold(module.constants[name], module, None, depth + 1)
            return Folded(result.value, result.module, result.node, True, result.holes) if isinstance(result, Folded) else result
        if name in module.imports:
            source, attribute = module.imports[name]
            if attribute is None:
                return Unresolved(f"name {name!r} is a module")
            return self._fold_imported(source, attribute, depth)
        return Unresolved(f"name {name!r} is not a constant")

    def _fold_loop_item(self, item: LoopItem, module: ModuleInfo, scope: Scope | None, depth: int):
        """A loop variable over a literal collection (here, a module constant, or imported):
        each item in turn, as the folder's other choice points are (fold_all)."""
        found = self._collection(item.collection, module, scope, depth)
        if isinstance(found, Unresolved):  # a parameter's reason stays as it is: a helper's sink is found by it
            return found if PARAMETER_REASON.match(found.reason) else Unresolved(f"a loop variable over {ast.unparse(item.collection)[:40]}: {found.reason}")
        container, where, where_scope = found
        if isinstance(container, ast.Dict):
            items = [k for k in container.keys if k is not None] if item.part == "key" else list(container.values) if item.part == "value" else []
        else:
            items = list(container.elts) if item.part == "element" else []
        if not items or any(isinstance(i, ast.Starred) for i in items):
            return Unresolved(f"a loop variable over {ast.unparse(item.collection)[:40]}, whose items are not listed")
        chosen = items[self._pick(len(items))] if len(items) > 1 else items[0]
        return self.fold(chosen, where, where_scope, depth + 1)

    def _collection(self, node: ast.expr, module: ModuleInfo, scope: Scope | None, depth: int):
        """(the literal list/tuple/set/dict, its module, its scope) a name or literal stands for."""
        for _ in range(MAX_DEPTH - depth):
            if isinstance(node, (ast.List, ast.Tuple, ast.Set, ast.Dict)):
                return node, module, scope
            if not isinstance(node, (ast.Name, Argument)):
                return Unresolved("it is not a literal collection")
            if isinstance(node, Argument):  # a helper's parameter, bound to what one call passes
                node, module, scope = node.node, node.module, node.scope
                continue
            values = scope.reaching(node.id, node) if scope is not None else None
            if values:
                if len(values) != 1:
                    return Unresolved(f"name {node.id!r} has more than one value")
                if isinstance(values[0], Unknown):
                    return Unresolved(values[0].reason)
                node = values[0]
            elif node.id in module.constants and node.id not in module.rebound:
                node, scope = module.constants[node.id], None
            elif node.id in module.imports and module.imports[node.id][1] is not None:
                source, attribute = module.imports[node.id]
                target = self.index.load(source)
                if target is None or attribute not in target.constants:
                    return Unresolved(f"{source}.{attribute} is not a constant of a project module")
                node, module, scope = target.constants[attribute], target, None
            else:
                return Unresolved(f"name {node.id!r} is not a constant")
        return Unresolved("constant chain too deep")

    def _fold_imported(self, source: str, attribute: str, depth: int):
        target = self.index.load(source)
        if target is None:
            return Unresolved(f"{source}.{attribute} is not in a project module")
        if attribute not in target.constants and self.index.is_module(f"{source}.{attribute}"):
            return Unresolved(f"name {attribute!r} is a module")
        return self._fold_name(attribute, target, None, depth + 1)

    def _fold_attribute(self, node: ast.Attribute, module: ModuleInfo, depth: int):
        """`queries.UPSERT` or `app.sql.UPSERT` where the prefix names a project module."""
        parts: list[str] = []
        current: ast.AST = node
        while isinstance(current, ast.Attribute):
            parts.append(current.attr)
            current = current.value
        if not isinstance(current, ast.Name) or current.id not in module.imports:
            return Unresolved(f"attribute {ast.unparse(node)!r} is not a constant")
        source, attribute = module.imports[current.id]
        dotted = source if attribute is None else f"{source}.{attribute}"
        *path, name = reversed(parts)
        return self._fold_imported(".".join([dotted, *path]), name, depth)

    def _fold_fstring(self, node: ast.JoinedStr, module: ModuleInfo, scope: Scope | None, depth: int):
        pieces: list[str] = []
        holes: list[str] = []
        for part in node.values:
            if isinstance(part, ast.Constant):
                pieces.append(str(part.value))
                continue
            if part.conversion != -1 or part.format_spec is not None:
                value = Unresolved("an f-string hole with a conversion or format spec")
            else:
                value = self._hole(part.value, module, scope, depth)
            self._append(pieces, holes, value)
        return self._joined(pieces, holes, module, node)

    @staticmethod
    def _append(pieces: list[str], holes: list[str], value) -> None:
        """Add a folded piece, or a hole for a piece that is not known."""
        if isinstance(value, str):
            pieces.append(value)
        elif isinstance(value, Folded):
            pieces.append(value.value)
            holes.extend(value.holes)
        else:
            pieces.append(HOLE)
            holes.append(value.reason if isinstance(value, Unresolved) else "a value that is not SQL text")

    @staticmethod
    def _joined(pieces: list[str], holes: list[str], module: ModuleInfo, node: ast.AST, via_name: bool = False):
        text = "".join(pieces)
        if holes and not text.replace(HOLE, "").strip():
            return Unresolved(holes[0])  # nothing of it is known
        return Folded(text, module, node, via_name, tuple(holes))

    def _fold_composable(self, name: str, node: ast.AST, module: ModuleInfo, scope: Scope | None, depth: int):
        """psycopg's sql.SQL("...") is its text; Identifier("t") is "t" quoted."""
        result = self.fold(node, module, scope, depth + 1)
        if name == "Identifier" and isinstance(result, Folded):
            return Folded('"' + result.value.replace('"', '""') + '"', result.module, result.node, result.via_name)
        return result

    def _hole(self, node: ast.AST, module: ModuleInfo, scope: Scope | None, depth: int) -> str | Folded | Unresolved:
        """A value placed into text: a number, folded text (perhaps with holes of its own),
        or why it is not known."""
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return str(node.value)
        result = self.fold(node, module, scope, depth + 1)
        if isinstance(result, Folded):
            return result.value if result.complete else result
        return result if isinstance(result, Unresolved) else Unresolved("an f-string hole is not SQL text")

    def _fold_binop(self, node: ast.BinOp, module: ModuleInfo, scope: Scope | None, depth: int):
        left = self.fold(node.left, module, scope, depth + 1)
        if isinstance(left, NotSql):
            return left
        if isinstance(node.op, ast.Add):
            right = self.fold(node.right, module, scope, depth + 1)
            if not isinstance(left, Folded) and not isinstance(right, Folded):
                return left
            pieces: list[str] = []
            holes: list[str] = []
            self._append(pieces, holes, left)
            self._append(pieces, holes, right)
            first = left if isinstance(left, Folded) else right
            return self._joined(pieces, holes, first.module, first.node, first.via_name)
        if not isinstance(left, Folded):
            return left
        if isinstance(node.op, ast.Mod):
            items = node.right.elts if isinstance(node.right, ast.Tuple) else [node.right]
            values = [self._hole(i, module, scope, depth) for i in items]
            holes = list(left.holes)
            filled = []
            for value in values:
                self._append(filled, holes, value)
            try:
                return Folded(left.value % tuple(filled), left.module, left.node, left.via_name, tuple(holes))
            except (TypeError, ValueError, KeyError):
                return Unresolved("%-formatting that does not apply")
        return Unresolved(f"a {type(node.op).__name__} of strings")

    def _fold_format(self, node: ast.Call, module: ModuleInfo, scope: Scope | None, depth: int):
        template = self.fold(node.func.value, module, scope, depth + 1)
        if not isinstance(template, Folded):
            return template
        if len({k.arg for k in node.keywords if k.arg}) != len(node.keywords):
            return Unresolved(".format(**...) with keys not known")
        holes = list(template.holes)
        args: list[str] = []
        for a in node.args:
            self._append(args, holes, self._hole(a, module, scope, depth))
        kwargs: dict[str, str] = {}
        for k in node.keywords:
            piece: list[str] = []
            self._append(piece, holes, self._hole(k.value, module, scope, depth))
            kwargs[k.arg] = piece[0]
        try:
            return Folded(template.value.format(*args, **kwargs), template.module, template.node, template.via_name, tuple(holes))
        except (IndexError, KeyError, ValueError):
            return Unresolved(".format() that does not apply")

    def _fold_join(self, node: ast.Call, module: ModuleInfo, scope: Scope | None, depth: int):
        """`", ".join([...])` of a literal list: its items; of anything else: one hole."""
        separator = self.fold(node.func.value, module, scope, depth + 1)
        if not isinstance(separator, Folded) or not separator.complete:
            return Unresolved("a join with a separator that is not a constant")
        items = self._joined_items(node.args[0], module, scope, depth)
        if items is None:
            return Folded(HOLE, module, node, False, (f"the items of {ast.unparse(node.args[0])[:40]!r} joined at run time",))
        pieces: list[str] = []
        holes: list[str] = []
        for index, item in enumerate(items):
            if index:
                pieces.append(separator.value)
            self._append(pieces, holes, self._hole(item.node, item.module, item.scope, depth))
        return Folded("".join(pieces), module, node, False, tuple(holes))

    def _joined_items(self, node: ast.expr, module: ModuleInfo, scope: Scope | None, depth: int) -> list[Argument] | None:
        """What `sep.join(...)` joins: the items of a sequence the code spells out, or a
        comprehension's element once for each of them (`f"{c} = EXCLUDED.{c}" for c in cols`)."""
        if not isinstance(node, (ast.GeneratorExp, ast.ListComp)):
            return self._items(node, module, scope, depth)
        if len(node.generators) != 1 or node.generators[0].ifs or not isinstance(node.generators[0].target, ast.Name):
            return None
        generator = node.generators[0]
        items = self._items(generator.iter, module, scope, depth)
        if items is None:
            return None
        inner = scope or Scope()
        return [Argument(node.elt, module, inner.binding({generator.target.id: item})) for item in items]

    def _count(self, node: ast.AST, module: ModuleInfo, scope: Scope | None, depth: int) -> int | None:
        """A repeat count the code spells out: a number, or `len(x)` of a sequence whose items are known."""
        if isinstance(node, ast.Constant) and isinstance(node.value, int) and 0 <= node.value <= 1000:
            return node.value
        if isinstance(node, ast.Call) and _callee_name(node) == "len" and len(node.args) == 1:
            items = self._items(node.args[0], module, scope, depth + 1)
            return None if items is None else len(items)
        return None

    def _items(self, node: ast.AST, module: ModuleInfo, scope: Scope | None, depth: int) -> list[Argument] | None:
        """The items of a sequence whose items the code spells out: a list, tuple or set literal,
        a dict literal's keys, `d.keys()`, `list(x)` / `tuple(x)` / `sorted(x)`, or a name bound
        to one of these (a parameter, at one call of its function); None when they are not known."""
        if depth > MAX_DEPTH:
            return None
        if isinstance(node, Argument):
            return self._items(node.node, node.module, node.scope, depth + 1)
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            if any(isinstance(e, ast.Starred) for e in node.elts):
                return None
            return [Argument(e, module, scope) for e in node.elts]
        if isinstance(node, ast.Dict):
            return None if any(k is None for k in node.keys) else [Argument(k, module, scope) for k in node.keys]
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):  # ["%s"] * len(row)
            items, count = self._items(node.left, module, scope, depth + 1), self._count(node.right, module, scope, depth)
            return None if items is None or count is None else items * count
        if isinstance(node, ast.Call) and not node.keywords:
            name = _callee_name(node)
            if name == "keys" and isinstance(node.func, ast.Attribute) and not node.args:
                return self._items(node.func.value, module, scope, depth + 1)
            if name in SEQUENCE_COPIES and isinstance(node.func, ast.Name) and len(node.args) == 1:
                return self._items(node.args[0], module, scope, depth + 1)
            return None
        if isinstance(node, ast.Name):
            values = scope.reaching(node.id, node) if scope is not None else None
            if values:
                value = values[self._pick(len(values))] if len(values) > 1 else values[0]
                return None if isinstance(value, Unknown) else self._items(value, module, scope, depth + 1)
            if scope is None or node.id not in scope.parameters:
                if node.id in module.constants:
                    return self._items(module.constants[node.id], module, None, depth + 1)
        return None
