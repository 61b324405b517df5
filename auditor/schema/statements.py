"""Split SQL text into statements with their start lines, and parse each one.

Splitting uses sqlglot's tokenizer, so semicolons inside strings, quoted names,
comments and dollar-quoted function bodies never split a statement. Each
statement is then parsed on its own: one bad statement costs a diagnostic, not
the rest of the file.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.tokens import TokenType

from auditor.sql.normalize import SQLGLOT_DIALECT

# sqlglot logs a warning for every statement it keeps as an opaque Command; we
# handle those ourselves, and the user's terminal is not sqlglot's log.
logging.getLogger("sqlglot").setLevel(logging.ERROR)


@dataclass(frozen=True)
class Statement:
    text: str
    line: int  # 1-based line of the statement's first token in its file


@dataclass(frozen=True)
class ParsedStatement:
    statement: Statement
    tree: exp.Expression | None
    error: str | None = None


def split_statements(sql: str, dialect: str) -> tuple[list[Statement], str | None]:
    """Top-level statements; on a tokenizer error, the error text and no statements."""
    try:
        tokens = sqlglot.Dialect.get_or_raise(SQLGLOT_DIALECT.get(dialect, dialect)).tokenize(sql)
    except SqlglotError as error:
        return [], str(error).splitlines()[0]
    statements: list[Statement] = []
    first = None
    last = None
    for token in tokens:
        if token.token_type == TokenType.SEMICOLON:
            if first is not None:
                statements.append(Statement(sql[first.start : last.end + 1], first.line))
            first = last = None
            continue
        if first is None:
            first = token
        last = token
    if first is not None:
        statements.append(Statement(sql[first.start : last.end + 1], first.line))
    return statements, None


def parse_statement(statement: Statement, dialect: str) -> ParsedStatement:
    try:
        tree = sqlglot.parse_one(statement.text, read=SQLGLOT_DIALECT.get(dialect, dialect))
    except SqlglotError as error:
        return ParsedStatement(statement, None, str(error).splitlines()[0])
    return ParsedStatement(statement, tree)
