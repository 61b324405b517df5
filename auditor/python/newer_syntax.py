"""Newer Python syntax written in the older spelling the running Python's `ast` reads.

LibCST parses grammar newer than the running interpreter's; this rewrites what 3.11 cannot
read, each into what means the same to the audit:

- `type X[T] = v` -> `X = v`; `def f[T]()` / `class C[T]` lose their type parameters;
- `except A, B:` (3.14) -> `except (A, B):`;
- redundant parentheses nested past the tokenizer's limit -> one pair;
- a PEP 701 f-string that reuses its quote inside a field is requoted; one that no older
  quoting can express becomes the string of the audit's unknown value (`auditor.sql.holes`),
  so a statement built from it is partly known, never silently wrong.

Every rewrite keeps each statement on its line, so locations stay right (a column on a line
that lost `[T]` shifts left by that much). Costs about 11x `ast.parse`: only for such files.
"""

from __future__ import annotations

import ast

import libcst as cst

from auditor.sql.holes import HOLE


def downgrade(text: str) -> str | None:
    """The source in syntax the running Python reads, or None if LibCST cannot parse it."""
    try:
        module = cst.parse_module(text)
    except (cst.ParserSyntaxError, RecursionError):
        return None
    return module.visit(_Downgrade()).code


def _parses(expression: str) -> bool:
    try:
        ast.parse(expression, mode="eval")
    except SyntaxError:
        return False
    return True


class _Downgrade(cst.CSTTransformer):
    """Newer syntax into its older spelling, node by node."""

    def on_leave(self, original, updated):
        result = super().on_leave(original, updated)
        # `((((x))))` past the tokenizer's nesting limit (200) is `(x)`.
        parentheses = getattr(result, "lpar", None)  # a sequence on expressions only
        if isinstance(parentheses, (list, tuple)) and len(parentheses) > 1:
            return result.with_changes(lpar=result.lpar[:1], rpar=result.rpar[-1:])
        return result

    def leave_TypeAlias(self, original, updated):
        # `type X[T] = v` -> `X = v`: the name and its value are what the audit can use.
        return cst.Assign(targets=[cst.AssignTarget(updated.name)], value=updated.value)

    def leave_FunctionDef(self, original, updated):
        return updated.with_changes(type_parameters=None) if updated.type_parameters else updated

    def leave_ClassDef(self, original, updated):
        return updated.with_changes(type_parameters=None) if updated.type_parameters else updated

    def leave_ExceptHandler(self, original, updated):
        return self._parenthesised_types(updated)

    def leave_ExceptStarHandler(self, original, updated):
        return self._parenthesised_types(updated)

    @staticmethod
    def _parenthesised_types(handler):
        # `except A, B:` (Python 3.14) is `except (A, B):`.
        if isinstance(handler.type, cst.Tuple) and not handler.type.lpar:
            return handler.with_changes(type=handler.type.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()]))
        return handler

    def leave_FormattedString(self, original, updated):
        code = cst.Module(body=[]).code_for_node(updated)
        if _parses(code):
            return updated
        # PEP 701 lets an f-string reuse its own quote inside a replacement field; before 3.12
        # the field must use another quote. Try each quote until the running Python reads it.
        letters = updated.start[: len(updated.start) - len(updated.quote)]
        for quote in ('"', "'", '"""', "'''"):
            candidate = updated.with_changes(start=letters + quote, end=quote)
            if _parses(cst.Module(body=[]).code_for_node(candidate)):
                return candidate
        return cst.SimpleString(f'"{HOLE}"')
