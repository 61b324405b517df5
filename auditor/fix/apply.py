"""Applying planned rewrites to source text with LibCST, and writing files safely.

LibCST keeps every byte it is not asked to change (comments, blank lines, quoting), so
the code around an idiom is left exactly as it was; comments above the idiom's first
statement stay with its replacement. The import of the helper is added by LibCST's own
AddImportsVisitor, which knows about docstrings, `__future__` imports and names already
imported.

Writing is all-or-nothing per file: the new text must parse, the file must still hold
what the plan was made from, and it is replaced by an atomic rename of a temporary file
beside it, so an interrupted run leaves either the old or the new file, never half of one.
"""

from __future__ import annotations

import ast
import os
import tempfile
from pathlib import Path
from typing import Sequence

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor
from libcst.metadata import MetadataWrapper, PositionProvider

from auditor.fix.plan import Rewrite


class RewriteError(Exception):
    pass


class _ReplaceStatements(cst.CSTTransformer):
    """Replaces each rewrite's statements (by original line span) with its one statement."""

    def __init__(self, positions, rewrites: Sequence[Rewrite]):
        self.positions = positions
        self.rewrites = rewrites
        self.applied: set[int] = set()

    def _rewrite_for(self, statement: cst.CSTNode) -> tuple[int, Rewrite] | None:
        start = self.positions[statement].start.line
        for number, rewrite in enumerate(self.rewrites):
            if rewrite.first_line <= start <= rewrite.last_line:
                return number, rewrite
        return None

    def _body(self, original: Sequence[cst.CSTNode], updated: Sequence[cst.CSTNode]) -> list[cst.CSTNode]:
        body: list[cst.CSTNode] = []
        for before, after in zip(original, updated):
            found = self._rewrite_for(before)
            if found is None:
                body.append(after)
                continue
            number, rewrite = found
            if self.positions[before].start.line == rewrite.first_line:
                replacement = cst.parse_statement(rewrite.code)
                body.append(replacement.with_changes(leading_lines=before.leading_lines))
                self.applied.add(number)
        return body

    def leave_IndentedBlock(self, original: cst.IndentedBlock, updated: cst.IndentedBlock) -> cst.IndentedBlock:
        return updated.with_changes(body=self._body(original.body, updated.body))

    def leave_Module(self, original: cst.Module, updated: cst.Module) -> cst.Module:
        return updated.with_changes(body=self._body(original.body, updated.body))


def rewrite_source(source: str, rewrites: Sequence[Rewrite], helper_module: str) -> str:
    """The source with every rewrite applied and the helpers imported."""
    if not rewrites:
        return source
    wrapper = MetadataWrapper(cst.parse_module(source))
    replacer = _ReplaceStatements(wrapper.resolve(PositionProvider), rewrites)
    module = wrapper.module.visit(replacer)
    if len(replacer.applied) != len(rewrites):
        raise RewriteError("the statements to replace were not found where the plan put them")
    context = CodemodContext()
    for helper in sorted({r.helper for r in rewrites if r.helper}):
        AddImportsVisitor.add_needed_import(context, helper_module, helper)
    module = AddImportsVisitor(context).transform_module(module)
    text = module.code
    try:
        ast.parse(text)
    except SyntaxError as error:  # never write code that does not parse
        raise RewriteError(f"the rewritten code does not parse: {error}") from error
    return text


def write_if_unchanged(path: Path, expected: bytes, text: str) -> None:
    """Replace `path` with `text` atomically, unless it no longer holds `expected`."""
    if path.read_bytes() != expected:
        raise RewriteError("changed on disk since it was read; run fix again")
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".upsert-audit")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, path.stat().st_mode & 0o7777)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
