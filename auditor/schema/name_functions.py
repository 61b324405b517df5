"""Evaluate the small pure functions projects use to name tables, without running them.

A declarative base often names every table with a function of the class name:

    @declared_attr.directive
    def __tablename__(cls) -> str:
        return camel_to_snake(cls.__name__)            # or cls.__name__.lower(), f"app_{...}"

This module interprets that function's body for one class, over a closed set of operations
on strings: f-strings, `+`, `%`, str methods, slicing, comprehensions and conditional
expressions over characters, `"".join`, `re.sub` with literal patterns, `inflection.underscore`,
and calls of other plain functions of the project (a `camel_to_snake` helper) by the same
rules. Anything else (I/O, attributes other than `cls.__name__`, unknown callees) raises
NotEvaluable with the reason; nothing of the audited project is ever imported or run.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Callable

STR_METHODS = {
    "lower", "upper", "title", "capitalize", "casefold", "strip", "lstrip", "rstrip", "replace", "startswith", "endswith",
    "isupper", "islower", "isdigit", "isalpha", "isalnum", "join", "split", "removeprefix", "removesuffix", "format", "swapcase",
}
BUILTINS: dict[str, Callable] = {"len": len, "str": str, "enumerate": lambda x: list(enumerate(x)), "list": list, "reversed": lambda x: list(reversed(x))}
COMPARISONS = {
    ast.Eq: lambda a, b: a == b, ast.NotEq: lambda a, b: a != b, ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b,
    ast.Lt: lambda a, b: a < b, ast.Gt: lambda a, b: a > b, ast.LtE: lambda a, b: a <= b, ast.GtE: lambda a, b: a >= b,
}
MAX_STEPS = 20_000  # a name function is a few lines; a loop over anything larger is not one


class NotEvaluable(Exception):
    """The expression needs more than this evaluator knows."""


def _underscore(word: str) -> str:
    """inflection.underscore, the snake_case most projects reach for."""
    word = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", word)
    word = re.sub(r"([a-z\d])([A-Z])", r"\1_\2", word)
    return word.replace("-", "_").lower()


LIBRARY = {"inflection.underscore": _underscore, "underscore": _underscore}


@dataclass
class Functions:
    """Plain functions callable from a name function: name -> (its def, the names it sees)."""

    lookup: Callable[[str], ast.FunctionDef | None]


class Evaluator:
    def __init__(self, functions: Functions, depth: int = 0):
        self.functions, self.depth, self.steps = functions, depth, 0

    def call_function(self, function: ast.FunctionDef, args: list) -> object:
        parameters = [a.arg for a in function.args.posonlyargs + function.args.args]
        if len(args) > len(parameters):
            raise NotEvaluable(f"{function.name}() called with {len(args)} arguments")
        scope = dict(zip(parameters, args))
        defaults = function.args.defaults
        for name, default in zip(parameters[len(parameters) - len(defaults):], defaults):
            if name not in scope:
                scope[name] = self.eval(default, scope)
        missing = [p for p in parameters if p not in scope]
        if missing:
            raise NotEvaluable(f"{function.name}() without {missing[0]}")
        return self.run(function.body, scope, function.name)

    def run(self, body: list[ast.stmt], scope: dict, name: str) -> object:
        returned, value = self._block(body, scope, name)
        return value if returned else None

    def _block(self, body: list[ast.stmt], scope: dict, name: str) -> tuple[bool, object]:
        """(whether the block returned, the value) after running its statements in order."""
        for statement in body:
            if isinstance(statement, (ast.Pass, ast.Expr)) and (not isinstance(statement, ast.Expr) or isinstance(statement.value, ast.Constant)):
                continue  # pass, a docstring
            if isinstance(statement, ast.Return):
                return True, self.eval(statement.value, scope) if statement.value is not None else None
            if isinstance(statement, ast.Assign) and len(statement.targets) == 1 and isinstance(statement.targets[0], ast.Name):
                scope[statement.targets[0].id] = self.eval(statement.value, scope)
            elif isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name) and statement.value is not None:
                scope[statement.target.id] = self.eval(statement.value, scope)
            elif isinstance(statement, ast.If):
                returned, value = self._block(statement.body if self.eval(statement.test, scope) else statement.orelse, scope, name)
                if returned:
                    return True, value
            else:
                raise NotEvaluable(f"{name}(): a {type(statement).__name__} statement")
        return False, None

    def eval(self, node: ast.expr, scope: dict) -> object:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise NotEvaluable("too many steps")
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            if node.id in scope:
                return scope[node.id]
            raise NotEvaluable(f"name {node.id}")
        if isinstance(node, ast.Attribute) and node.attr == "__name__" and isinstance(node.value, ast.Name) and node.value.id in scope:
            owner = scope[node.value.id]
            if isinstance(owner, ClassName):
                return owner.name
        if isinstance(node, ast.JoinedStr):
            return "".join(self._formatted(v, scope) for v in node.values)
        if isinstance(node, (ast.List, ast.Tuple)):
            values = [self.eval(e, scope) for e in node.elts]
            return tuple(values) if isinstance(node, ast.Tuple) else values
        if isinstance(node, ast.BinOp):
            left, right = self.eval(node.left, scope), self.eval(node.right, scope)
            if isinstance(node.op, ast.Add) and type(left) is type(right) and isinstance(left, (str, int, list, tuple)):
                return left + right
            if isinstance(node.op, ast.Mod) and isinstance(left, str):
                return left % right
            if isinstance(node.op, ast.Sub) and isinstance(left, int) and isinstance(right, int):
                return left - right
            raise NotEvaluable(f"operator {type(node.op).__name__}")
        if isinstance(node, ast.BoolOp):
            result = None
            for value in node.values:
                result = self.eval(value, scope)
                if isinstance(node.op, ast.And) and not result or isinstance(node.op, ast.Or) and result:
                    return result
            return result
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return not self.eval(node.operand, scope)
        if isinstance(node, ast.Compare):
            return self._compare(node, scope)
        if isinstance(node, ast.IfExp):
            return self.eval(node.body if self.eval(node.test, scope) else node.orelse, scope)
        if isinstance(node, ast.Subscript):
            value = self.eval(node.value, scope)
            if isinstance(node.slice, ast.Slice):
                bound = lambda n: None if n is None else self.eval(n, scope)  # noqa: E731
                return value[bound(node.slice.lower):bound(node.slice.upper):bound(node.slice.step)]
            return value[self.eval(node.slice, scope)]
        if isinstance(node, (ast.ListComp, ast.GeneratorExp)):
            return self._comprehension(node, scope)
        if isinstance(node, ast.Call):
            return self._call(node, scope)
        raise NotEvaluable(ast.unparse(node)[:60])

    def _formatted(self, part: ast.expr, scope: dict) -> str:
        if isinstance(part, ast.Constant):
            return str(part.value)
        if isinstance(part, ast.FormattedValue) and part.format_spec is None:
            return str(self.eval(part.value, scope))
        raise NotEvaluable("a formatted value with a format spec")

    def _compare(self, node: ast.Compare, scope: dict) -> bool:
        left = self.eval(node.left, scope)
        for op, right_node in zip(node.ops, node.comparators):
            check = COMPARISONS.get(type(op))
            if check is None:
                raise NotEvaluable(f"comparison {type(op).__name__}")
            right = self.eval(right_node, scope)
            if not check(left, right):
                return False
            left = right
        return True

    def _comprehension(self, node: ast.ListComp | ast.GeneratorExp, scope: dict) -> list:
        if len(node.generators) != 1 or node.generators[0].is_async:
            raise NotEvaluable("a nested comprehension")
        generator = node.generators[0]
        found = []
        for item in self.eval(generator.iter, scope):
            inner = dict(scope)
            self._bind(generator.target, item, inner)
            if all(self.eval(condition, inner) for condition in generator.ifs):
                found.append(self.eval(node.elt, inner))
        return found

    def _bind(self, target: ast.expr, item: object, scope: dict) -> None:
        if isinstance(target, ast.Name):
            scope[target.id] = item
        elif isinstance(target, ast.Tuple) and isinstance(item, (tuple, list)) and len(item) == len(target.elts):
            for element, value in zip(target.elts, item):
                self._bind(element, value, scope)
        else:
            raise NotEvaluable("a comprehension target")

    def _call(self, node: ast.Call, scope: dict) -> object:
        dotted = _dotted(node.func)
        function = self.functions.lookup(dotted) if dotted and dotted not in LIBRARY and not dotted.startswith("re.") else None
        if function is not None:
            if self.depth > 5 or node.keywords:
                raise NotEvaluable(f"call of {dotted}")
            return Evaluator(self.functions, self.depth + 1).call_function(function, [self.eval(a, scope) for a in node.args])
        if dotted in ("re.sub", "sub"):
            args = [self.eval(a, scope) for a in node.args]
            options = {k.arg: self.eval(k.value, scope) for k in node.keywords}
            if set(options) - {"count"} or len(args) != 3 or not all(isinstance(a, str) for a in args):
                raise NotEvaluable("re.sub with run-time arguments")
            return re.sub(args[0], args[1], args[2], count=options.get("count", 0))
        if node.keywords:
            raise NotEvaluable("a call with keywords")
        if dotted in LIBRARY or dotted in BUILTINS:
            return {**LIBRARY, **BUILTINS}[dotted](*[self.eval(a, scope) for a in node.args])
        if isinstance(node.func, ast.Attribute) and node.func.attr in STR_METHODS:
            receiver = self.eval(node.func.value, scope)
            if isinstance(receiver, str):
                return getattr(receiver, node.func.attr)(*[self.eval(a, scope) for a in node.args])
        raise NotEvaluable(f"call of {dotted or ast.unparse(node.func)[:40]}")


@dataclass(frozen=True)
class ClassName:
    """`cls` inside a declared_attr: only its `__name__` is known."""

    name: str


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _dotted(node.value)
        return f"{inner}.{node.attr}" if inner else None
    return None


def table_name_for(function: ast.FunctionDef, class_name: str, functions: Functions) -> str:
    """The value `function(cls)` returns for a class called `class_name`; NotEvaluable if unknown."""
    parameters = function.args.posonlyargs + function.args.args
    if len(parameters) != 1:
        raise NotEvaluable(f"{function.name} takes {len(parameters)} parameters")
    try:
        found = Evaluator(functions).call_function(function, [ClassName(class_name)])
    except NotEvaluable:
        raise
    except Exception as error:  # noqa: BLE001 - an error in the interpreted body (an index out of range)
        raise NotEvaluable(f"{type(error).__name__}: {error}") from None
    if not isinstance(found, str) or not found:
        raise NotEvaluable(f"it returns {type(found).__name__}")
    return found
