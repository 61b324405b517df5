"""Parse any Python file into an `ast.Module`, whatever Python it is written for.

`ast.parse` is the fast path (the audit's speed budget). A file written for a newer Python
than the one running (`type X = ...`, `def f[T]()`, PEP 701 f-strings with nested quotes,
`except A, B:`) fails there; such a file goes through LibCST (`newer_syntax.downgrade`), which
reads it and writes each newer construct in the older spelling that means the same to the
audit, and `ast` parses that. Every extractor and schema reader then sees the same tree
shape from every file: no second, smaller extractor for such files.
"""

from __future__ import annotations

import ast


def parse_module(text: str) -> ast.Module:
    """The module's tree; SyntaxError when neither `ast` nor LibCST can read it."""
    try:
        return ast.parse(text)
    except SyntaxError as error:
        from auditor.python.newer_syntax import downgrade  # LibCST loads only for such files

        older = downgrade(text)
        if older is None:
            raise error from None
        return ast.parse(older)
