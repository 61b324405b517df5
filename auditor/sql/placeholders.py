"""Driver placeholder styles, normalised before parsing.

Drivers spell bind parameters five ways: `%s` and `%(name)s` (psycopg, PyMySQL),
`$1` (asyncpg), `?` (sqlite3, qmark) and `:name` (sqlite3 named, SQLAlchemy text()).
We rewrite each to the qmark form `?`, which sqlglot parses in every dialect, and
keep the original names in order. String literals, quoted identifiers, dollar-quoted
bodies and comments are copied untouched, and so are `::` casts. With pyformat
drivers a literal percent sign is written `%%`; it becomes `%` here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# One alternation, tried left to right at each position; the first groups are
# regions to copy verbatim, the named groups are placeholders.
_TOKEN = re.compile(
    r"""
      (?P<squote>'(?:[^']|'')*')                      # 'string'
    | (?P<dquote>"(?:[^"]|"")*")                      # "identifier"
    | (?P<btick>`[^`]*`)                              # `mysql identifier`
    | (?P<dollar>\$(?P<tag>[A-Za-z_]\w*)?\$.*?\$(?P=tag)?\$)  # $$ body $$ / $tag$ body $tag$
    | (?P<line_comment>--[^\n]*)
    | (?P<block_comment>/\*.*?\*/)
    | (?P<cast>::)
    | (?P<pct_escape>%%)
    | %\((?P<pyformat>\w+)\)s
    | (?P<format>%s)
    | \$(?P<numeric>\d+)
    | (?P<qmark>\?)
    | (?<![:\w]):(?P<named>[A-Za-z_]\w*)
    """,
    re.VERBOSE | re.DOTALL,
)


@dataclass(frozen=True)
class NormalizedSql:
    sql: str  # with every placeholder as `?`
    parameters: tuple[str, ...]  # each placeholder's name, or its 1-based position as text
    styles: frozenset[str]  # which styles were seen: format, pyformat, numeric, qmark, named


def normalize_placeholders(sql: str) -> NormalizedSql:
    return _rewrite(sql, lambda index: "?")


# A placeholder that keeps its position through parsing: sqlglot reads `:name` in every dialect.
MARKER = "ua_p"


def marked_placeholders(sql: str) -> NormalizedSql:
    """`normalize_placeholders`, but the i-th placeholder is written `:ua_p<i>` (0-based), so the
    parsed tree says which bind parameter each node is (`parameters[i]` names it)."""
    return _rewrite(sql, lambda index: f":{MARKER}{index}")


def _rewrite(sql: str, mark) -> NormalizedSql:
    out: list[str] = []
    params: list[str] = []
    styles: set[str] = set()
    pos = 0
    for match in _TOKEN.finditer(sql):
        out.append(sql[pos : match.start()])
        pos = match.end()
        kind = match.lastgroup
        if kind == "tag":  # a dollar quote with a tag reports its inner group last
            kind = "dollar"
        if kind in ("squote", "dquote", "btick", "dollar", "line_comment", "block_comment", "cast"):
            out.append(match.group(0))
        elif kind == "pct_escape":
            out.append("%")
        else:
            styles.add(kind)
            value = match.group(kind)
            marker = mark(len(params))
            params.append(value if value and kind != "format" and kind != "qmark" else str(len(params) + 1))
            # sqlglot cannot read `?::int`; `(?)::int` is the same cast.
            out.append(f"({marker})" if sql.startswith("::", pos) else marker)
    out.append(sql[pos:])
    return NormalizedSql("".join(out), tuple(params), frozenset(styles))


def numbered_placeholders(sql: str) -> str:
    """PostgreSQL's `$1, $2, ...` form of any placeholder style, for PREPARE."""
    normalized = normalize_placeholders(sql).sql
    out: list[str] = []
    pos = 0
    count = 0
    for match in _TOKEN.finditer(normalized):
        if match.lastgroup != "qmark":
            continue
        count += 1
        out.append(normalized[pos : match.start()])
        out.append(f"${count}")
        pos = match.end()
    out.append(normalized[pos:])
    return "".join(out)
