"""What a SQL write statement does: parse it (sqlglot) into a WriteStatement.

Placeholders of every driver style are normalised first (auditor.sql.placeholders),
so `%s`, `%(name)s`, `$1`, `?` and `:name` all parse the same way in every dialect.
Statements that write nothing (SELECT, DDL, SET, ...) are dropped: they are not
write sites. This function never raises: unparseable SQL comes back as an error
text for the caller to report.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from auditor.dialects import fold_identifier
from auditor.model import TableName
from auditor.sites import ConflictAction, ConflictClause, WriteKind, WriteStatement
from auditor.sql.holes import parseable, unknown_parts
from auditor.sql.normalize import SQLGLOT_DIALECT, conjuncts, identifier_name, key_element, predicate_text
from auditor.sql.placeholders import MARKER, marked_placeholders, normalize_placeholders

logging.getLogger("sqlglot").setLevel(logging.ERROR)  # opaque-Command warnings are ours to handle

# sqlglot keeps MySQL/SQLite `REPLACE INTO` as an opaque Command.
_REPLACE_INTO = re.compile(
    r"^\s*REPLACE\s+(?:LOW_PRIORITY\s+|DELAYED\s+)?(?:INTO\s+)?(?P<table>[`\"\w.]+)\s*(?:\((?P<columns>[^)]*)\))?",
    re.I,
)


def _table(node: exp.Expression, dialect: str) -> TableName:
    """The target table of an INSERT/UPDATE/DELETE/MERGE, unqualified → schema None."""
    if isinstance(node, exp.Schema):
        node = node.this
    if not isinstance(node, exp.Table):
        node = node.find(exp.Table)
    if node is None:  # INSERT INTO table VALUES ...: sqlglot reads the keyword-named table as nothing
        raise ValueError("no target table could be read")
    schema = identifier_name(node.args.get("db"), dialect) if node.args.get("db") else None
    return TableName(schema, identifier_name(node.this, dialect))


def _has_parameter(node: exp.Expression | None) -> bool:
    return node is not None and any(True for _ in node.find_all(exp.Placeholder, exp.Parameter))


def _assigned_columns(assignments: list[exp.Expression], dialect: str) -> tuple[str, ...]:
    return tuple(identifier_name(a.this, dialect) for a in assignments if isinstance(a, exp.EQ))


def _update_scopes(node: exp.OnConflict) -> list[exp.Expression]:
    """The expressions a conflict update evaluates: each assigned value, and its WHERE."""
    scopes = [a.expression for a in node.expressions if isinstance(a, exp.EQ)]
    if node.args.get("where") is not None:
        scopes.append(node.args["where"])
    return scopes


def _unqualified_columns(node: exp.OnConflict, dialect: str) -> tuple[str, ...]:
    """Columns without a table in DO UPDATE SET values and WHERE, not inside a subquery."""
    found: list[str] = []
    for scope in _update_scopes(node):
        for column in scope.find_all(exp.Column):
            ident = column.this
            if isinstance(ident, exp.Identifier) and not ident.quoted and ident.name.upper() == "DEFAULT":
                continue  # SET c = DEFAULT is a keyword, not a column
            if column.args.get("table") is None and column.find_ancestor(exp.Select, exp.Subquery) is None:
                name = identifier_name(column.this, dialect)
                if name not in found:
                    found.append(name)
    return tuple(found)


PROPOSED_ROW_FUNCTIONS = ("VALUES", "VALUE")  # MySQL/MariaDB ODKU: the value the INSERT proposed


def _proposed_column(node: exp.Expression, dialect: str, row_name: str) -> str | None:
    """The column of the proposed row `node` reads, if it does: `EXCLUDED.c` (or the MySQL
    row alias `new.c`) and MySQL's `VALUES(c)` / `VALUE(c)`."""
    if isinstance(node, exp.Column) and node.args.get("table") is not None:
        table = node.args["table"]
        if not table.quoted and table.name.lower() == row_name:
            return identifier_name(node.this, dialect)
    if isinstance(node, exp.Anonymous) and str(node.this).upper() in PROPOSED_ROW_FUNCTIONS and len(node.expressions) == 1:
        argument = node.expressions[0]
        return identifier_name(argument.this if isinstance(argument, exp.Column) else argument, dialect)
    return None


def _proposed_reads(node: exp.OnConflict, dialect: str, row_name: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(columns of the proposed row read anywhere in the update, columns assigned their own proposed value)."""
    read: list[str] = []
    for scope in _update_scopes(node):
        for sub in scope.walk():
            column = _proposed_column(sub, dialect, row_name)
            if column is not None and column not in read:
                read.append(column)
    identity = tuple(
        identifier_name(a.this, dialect)
        for a in node.expressions
        if isinstance(a, exp.EQ) and _proposed_column(a.expression, dialect, row_name) == identifier_name(a.this, dialect)
    )
    return tuple(read), identity


def _uses_values_function(node: exp.OnConflict) -> bool:
    return any(
        str(f.this).upper() in PROPOSED_ROW_FUNCTIONS for a in node.expressions for f in a.find_all(exp.Anonymous)
    )


def conflict_clause(node: exp.OnConflict, dialect: str, row_alias: str | None = None) -> ConflictClause:
    if node.args.get("duplicate"):
        proposed, identity = _proposed_reads(node, dialect, (row_alias or "").lower())
        return ConflictClause(
            action=ConflictAction.DUPLICATE_KEY_UPDATE,
            update_columns=_assigned_columns(node.expressions, dialect),
            proposed_columns=proposed,
            identity_updates=identity,
            values_function=_uses_values_function(node),
            row_alias=row_alias,
        )
    action_text = str(node.args.get("action") or "").upper()
    action = ConflictAction.UPDATE if "UPDATE" in action_text else ConflictAction.NOTHING
    predicate = node.args.get("index_predicate")
    constraint = node.args.get("constraint")
    proposed, identity = _proposed_reads(node, dialect, "excluded") if action is ConflictAction.UPDATE else ((), ())
    return ConflictClause(
        action=action,
        target=tuple(key_element(k, dialect) for k in node.args.get("conflict_keys") or []),
        constraint=identifier_name(constraint, dialect) if constraint is not None else None,
        index_predicate=predicate_text(predicate, dialect),
        index_predicate_conjuncts=conjuncts(predicate, dialect),
        predicate_has_parameter=_has_parameter(predicate),
        update_columns=_assigned_columns(node.expressions, dialect) if action is ConflictAction.UPDATE else (),
        unqualified_columns=_unqualified_columns(node, dialect) if action is ConflictAction.UPDATE else (),
        proposed_columns=proposed,
        identity_updates=identity,
        update_where=action is ConflictAction.UPDATE and node.args.get("where") is not None,
    )


def _literal_rows(tree: exp.Insert, columns: tuple[str, ...]) -> tuple[tuple[str | None, ...], ...]:
    """Each VALUES row as the SQL of its non-NULL literals, None where the value is a bind
    parameter, NULL or an expression (unknown until run time); () if the rows do not line up."""
    values = tree.expression
    if not isinstance(values, exp.Values) or not columns:
        return ()
    rows = [row.expressions if isinstance(row, exp.Tuple) else [row] for row in values.expressions]
    if not rows or any(len(row) != len(columns) for row in rows):
        return ()
    return tuple(tuple(v.sql() if isinstance(v, (exp.Literal, exp.Boolean)) else None for v in row) for row in rows)


def _null_columns(tree: exp.Insert, columns: tuple[str, ...]) -> tuple[str, ...]:
    """Columns that some VALUES row sets to a NULL literal."""
    values = tree.expression
    if not isinstance(values, exp.Values) or not columns:
        return ()
    found = set()
    for row in values.expressions:
        items = row.expressions if isinstance(row, exp.Tuple) else [row]
        found |= {c for c, v in zip(columns, items) if isinstance(v, exp.Null)}
    return tuple(c for c in columns if c in found)


# Clauses that may follow FROM; if none is present, FROM (or its last join) ends the SELECT.
_AFTER_FROM = ("where", "group", "having", "qualify", "windows", "order", "limit", "offset")


def _select_ends_in_from(tree: exp.Insert) -> bool:
    """INSERT ... SELECT whose last clause is FROM: SQLite reads a following ON CONFLICT's
    `ON` as a join constraint (the parsing ambiguity its docs describe)."""
    source = tree.expression
    if not isinstance(source, exp.Select) or not (source.args.get("from") or source.args.get("from_")):
        return False
    return not any(source.args.get(clause) for clause in _AFTER_FROM)


def _terms(node: exp.Expression | None) -> list[exp.Expression]:
    """The AND-ed terms of a condition."""
    if isinstance(node, exp.Paren):
        return _terms(node.this)
    if isinstance(node, exp.And):
        return _terms(node.left) + _terms(node.right)
    return [] if node is None else [node]


def _pinned_by_subquery(select: exp.Select, names: set[str], dialect: str, outer: frozenset[str] = frozenset()) -> tuple[str, ...]:
    """Columns of the subquery's table (named or aliased `names`, or unqualified and not one of
    the `outer` query's own aliases) its WHERE pins by `column = value`, where the value reads
    none of that table's columns."""
    def own(node: exp.Expression) -> bool:
        return isinstance(node, exp.Column) and (node.table in names if node.table else node.name not in outer)

    where = select.args.get("where")
    pinned = []
    for term in _terms(where.this if where is not None else None):
        if not isinstance(term, exp.EQ):
            continue
        for column, value in ((term.left, term.right), (term.right, term.left)):
            if own(column) and not any(own(c) for c in value.find_all(exp.Column)):
                pinned.append(identifier_name(column.this, dialect))
                break
    return tuple(dict.fromkeys(pinned))


def _not_exists_key(tree: exp.Insert, table: TableName, dialect: str) -> tuple[str, ...]:
    """`INSERT INTO t ... SELECT ... WHERE NOT EXISTS (SELECT 1 FROM t WHERE k = ...)`: the
    columns of t the NOT EXISTS looks up, the key the statement checks before it inserts."""
    source = tree.expression
    while isinstance(source, exp.Subquery):  # INSERT INTO t (...) (SELECT ...)
        source = source.this
    where = source.args.get("where") if isinstance(source, exp.Select) else None
    for term in _terms(where.this if where is not None else None):
        inner = term.this if isinstance(term, exp.Not) else None
        subquery = inner.this if isinstance(inner, exp.Exists) else None
        if not isinstance(subquery, exp.Select) or subquery.args.get("joins"):
            continue
        read = subquery.args.get("from_") or subquery.args.get("from")
        checked = read.this if read is not None else None
        if not isinstance(checked, exp.Table) or not isinstance(checked.this, exp.Identifier):
            continue
        schema = identifier_name(checked.args.get("db"), dialect) if checked.args.get("db") else None
        if identifier_name(checked.this, dialect) != table.name or (schema and table.schema and schema != table.schema):
            continue
        names = {checked.name} | ({checked.alias} if checked.alias else set())
        # `SELECT ' ' || n AS token FROM unnest(...) ... WHERE word_token = token`: token is the
        # outer query's, not a column of t
        inside = {id(node) for node in subquery.walk()}
        outer = frozenset(a.alias for a in source.find_all(exp.Alias) if id(a) not in inside)
        pinned = _pinned_by_subquery(subquery, names, dialect, outer)
        if pinned:
            return pinned
    return ()


def _insert(tree: exp.Insert, dialect: str, sql: str) -> WriteStatement:
    target = tree.this
    columns = tuple(identifier_name(c, dialect) for c in target.expressions) if isinstance(target, exp.Schema) else ()
    alternative = (tree.args.get("alternative") or "").upper() or None  # SQLite INSERT OR <x>
    if tree.args.get("ignore"):
        alternative = "IGNORE"
    conflict = tree.args.get("conflict")
    kind = WriteKind.REPLACE if alternative == "REPLACE" else WriteKind.INSERT
    alias = tree.expression.args.get("alias") if isinstance(tree.expression, exp.Values) else None
    row_alias = identifier_name(alias.this, dialect) if alias is not None and alias.this is not None else None
    table = _table(target, dialect)
    return WriteStatement(
        kind=kind,
        table=table,
        columns=columns,
        conflict=conflict_clause(conflict, dialect, row_alias) if conflict is not None else None,
        or_action=alternative,
        normalized_sql=sql,
        literal_rows=_literal_rows(tree, columns),
        null_columns=_null_columns(tree, columns),
        select_ends_in_from=_select_ends_in_from(tree),
        returning=tree.args.get("returning") is not None,
        not_exists_key=_not_exists_key(tree, table, dialect),
    )


def _replace_command(text: str, dialect: str, sql: str) -> WriteStatement | None:
    match = _REPLACE_INTO.match(text)
    if not match:
        return None
    parts = [p.strip("`\"") for p in match["table"].split(".")]
    columns = tuple(fold_identifier(c.strip().strip("`\""), False, dialect) for c in (match["columns"] or "").split(",") if c.strip())
    table = TableName(fold_identifier(parts[0], False, dialect) if len(parts) > 1 else None, fold_identifier(parts[-1], False, dialect))
    return WriteStatement(WriteKind.REPLACE, table, columns, None, "REPLACE", sql)


def _merge(tree: exp.Merge, dialect: str, sql: str) -> WriteStatement:
    """MERGE: the columns its WHEN NOT MATCHED ... INSERT writes, and the target columns its
    ON condition pins (`target.k = source.k`), which is the key it means."""
    target = tree.this
    names = {identifier_name(target.this, dialect)} | ({target.alias} if target.alias else set())
    whens = tree.args.get("whens")
    inserts = [w.args["then"] for w in (whens.expressions if whens else []) if isinstance(w.args.get("then"), exp.Insert)]
    columns: tuple[str, ...] = ()
    if inserts and isinstance(inserts[0].this, exp.Tuple):
        columns = tuple(identifier_name(c.this if isinstance(c, exp.Column) else c, dialect) for c in inserts[0].this.expressions)
    pinned = []
    for term in tree.args["on"].find_all(exp.EQ) if tree.args.get("on") else []:
        for side in (term.left, term.right):
            if isinstance(side, exp.Column) and side.table in names:
                pinned.append(identifier_name(side.this, dialect))
    return WriteStatement(
        WriteKind.MERGE, _table(target, dialect), columns, normalized_sql=sql,
        merge_inserts=bool(inserts), merge_key=tuple(dict.fromkeys(pinned)),
    )


def write_statement(tree: exp.Expression, dialect: str, sql: str) -> WriteStatement | None:
    """The WriteStatement of one parsed statement, or None if it writes nothing."""
    if isinstance(tree, exp.Insert):
        return _insert(tree, dialect, sql)
    if isinstance(tree, exp.Update):
        return WriteStatement(WriteKind.UPDATE, _table(tree.this, dialect), _assigned_columns(tree.expressions, dialect), normalized_sql=sql)
    if isinstance(tree, exp.Delete):
        return WriteStatement(WriteKind.DELETE, _table(tree.this, dialect), normalized_sql=sql)
    if isinstance(tree, exp.Merge):
        return _merge(tree, dialect, sql)
    if isinstance(tree, exp.Command):
        body = tree.expression.name if isinstance(tree.expression, exp.Expression) else str(tree.expression or "")
        return _replace_command(f"{tree.this} {body}", dialect, sql)
    return None


def _assigns_parameter(tree: exp.Expression) -> bool:
    """Does the conflict update assign some column a bare bind parameter (`SET k = :k`)?"""
    conflict = tree.args.get("conflict") if isinstance(tree, exp.Insert) else None
    return conflict is not None and any(
        isinstance(a, exp.EQ) and any(True for _ in a.expression.find_all(exp.Placeholder)) for a in conflict.expressions
    )


def _marker_parameter(node: exp.Expression, parameters: tuple[str, ...]) -> str | None:
    """The bind parameter a marked placeholder (`:ua_p3`) stands for; a cast of it is the same value."""
    while isinstance(node, (exp.Paren, exp.Cast)):
        node = node.this
    if not isinstance(node, exp.Placeholder) or not node.name.startswith(MARKER):
        return None
    index = node.name[len(MARKER):]
    return parameters[int(index)] if index.isdigit() and int(index) < len(parameters) else None


def same_parameter_updates(sql: str, dialect: str) -> tuple[str, ...]:
    """Columns the conflict update assigns the very bind parameter the row inserts into them
    (`VALUES (:k, ...) ... SET k = :k`, `%(k)s`, `$1`): the value the row already has. A
    positional `?` / `%s` is a new parameter each time, so it never counts. The statement is
    parsed again with each placeholder marked by its position, which only the parse can tell."""
    marked = marked_placeholders(sql)
    try:
        tree = sqlglot.parse_one(parseable(marked.sql), read=SQLGLOT_DIALECT.get(dialect, dialect))
    except Exception:  # noqa: BLE001 - the first parse succeeded; a failure here only loses this fact
        return ()
    target = tree.this if isinstance(tree, exp.Insert) else None
    values = tree.expression if isinstance(tree, exp.Insert) else None
    if not isinstance(target, exp.Schema) or not isinstance(values, exp.Values):
        return ()
    columns = [identifier_name(c, dialect) for c in target.expressions]
    rows = [row.expressions if isinstance(row, exp.Tuple) else [row] for row in values.expressions]
    inserted: dict[str, str] = {}
    for i, column in enumerate(columns):
        names = {_marker_parameter(row[i], marked.parameters) if i < len(row) else None for row in rows}
        if len(names) == 1 and None not in names:
            inserted[column] = names.pop()
    same = []
    for assignment in tree.args["conflict"].expressions:
        if isinstance(assignment, exp.EQ):
            column = identifier_name(assignment.this, dialect)
            if column in inserted and _marker_parameter(assignment.expression, marked.parameters) == inserted[column]:
                same.append(column)
    return tuple(same)


def _with_same_parameter_updates(statement: WriteStatement, tree: exp.Expression, sql: str, dialect: str) -> WriteStatement:
    if statement.conflict is None or not _assigns_parameter(tree):
        return statement
    same = [c for c in same_parameter_updates(sql, dialect) if c not in statement.conflict.identity_updates]
    if not same:
        return statement
    return replace(statement, conflict=replace(statement.conflict, identity_updates=statement.conflict.identity_updates + tuple(same)))


# Text the parser cannot read is reported as unparsed only if it could be a write; `XA BEGIN
# :xid` or a log message handed to execute() writes no row and is not a write site.
_WRITE_WORD = re.compile(r"\b(?:INSERT|UPDATE|DELETE|MERGE|REPLACE|UPSERT)\b", re.I)


def parse_write_statements(sql: str, dialect: str) -> tuple[list[WriteStatement], str | None]:
    """Every write statement in `sql` (a script may hold several), or ([], error)."""
    normalized = parseable(normalize_placeholders(sql).sql)
    read = SQLGLOT_DIALECT.get(dialect, dialect)
    try:
        trees = [t for t in sqlglot.parse(normalized, read=read) if t is not None]
    except SqlglotError as error:
        return ([], None) if not _WRITE_WORD.search(normalized) else ([], str(error).splitlines()[0])
    except Exception as error:  # noqa: BLE001 - sqlglot bugs must not end the audit
        return ([], None) if not _WRITE_WORD.search(normalized) else ([], f"{type(error).__name__}: {error}")
    # One statement: keep the user's own text (placeholders normalised) for display
    # and for planning on a live database; several: each statement's own SQL.
    single = len(trees) == 1
    statements = []
    for tree in trees:
        try:
            text = normalized.strip().rstrip(";").strip() if single else tree.sql(dialect=read)
            statement = write_statement(tree, dialect, text)
            if statement is not None and single:
                statement = _with_same_parameter_updates(statement, tree, sql, dialect)
        except Exception as error:  # noqa: BLE001 - one statement we cannot read must not end the audit
            return [], f"the statement could not be read ({type(error).__name__}: {error})"
        if statement is not None:
            unknown = unknown_parts(tree, normalized)
            statements.append(replace(statement, unknown=unknown) if unknown else statement)
    return statements, None
