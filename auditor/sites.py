"""Write sites: the places in Python code that write rows, and what their SQL says.

Two stages fill these in:
* `auditor.python` finds SQL handed to execute-like calls -> `SqlCall`
  (it knows Python, not SQL);
* `auditor.sql.statement` parses the SQL text -> `WriteStatement`
  (it knows SQL, not Python).
The engine pairs them into a `WriteSite`, which is what rules see.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from auditor.model import KeyElement, Location, TableName


@dataclass(frozen=True)
class SqlCall:
    """SQL text handed to an execute-like call, found by reading (never running) Python.

    `sql` is None when the argument could not be resolved to a constant string;
    `unresolved_reason` then says why (e.g. "name 'QUERY' is not a constant").
    `origin` is where the SQL text itself was written, when that is not the call
    (a module constant, possibly in another module of the project).
    """

    location: Location  # the call: the place to fix
    api: str  # the called attribute or function: execute, executemany, fetchrow, text, ...
    sql: str | None
    origin: Location | None = None
    unresolved_reason: str | None = None
    driver: str | None = None  # module-level hint: psycopg, psycopg2, asyncpg, sqlite3, sqlalchemy, pymysql, ...
    row_read: bool = False  # the code reads the returned row without checking one came back
    holes: tuple[str, ...] = ()  # why each unknown part of `sql` (auditor.sql.holes.HOLE) is unknown
    # A project helper's statement: its SQL depends on the enclosing function's parameters, so
    # it is checked at each call of the helper (auditor.python.project_helpers).
    parameterised: bool = False
    # A call of such a helper: `location` is the call, `through` the calls inside the project's
    # helpers that lead to the SQL, the last one running it (the parameterised sites it stands in for).
    through: tuple[Location, ...] = ()
    # For a helper whose whole SQL is one parameter: the sinks entry that would check its calls
    # (`{ call = "run", sql-argument = 1 }`), offered when no call of it could be followed.
    sink_hint: str | None = None


class WriteKind(enum.Enum):
    INSERT = "insert"
    UPDATE = "update"
    DELETE = "delete"
    MERGE = "merge"
    REPLACE = "replace"  # MySQL REPLACE INTO / SQLite INSERT OR REPLACE


class ConflictAction(enum.Enum):
    NOTHING = "do nothing"
    UPDATE = "do update"
    DUPLICATE_KEY_UPDATE = "on duplicate key update"  # MySQL/MariaDB: no target


@dataclass(frozen=True)
class ConflictClause:
    """`ON CONFLICT [target] DO ...` (PostgreSQL/SQLite) or `ON DUPLICATE KEY UPDATE` (MySQL)."""

    action: ConflictAction
    target: tuple[KeyElement, ...] = ()  # empty: targetless, or ON CONSTRAINT
    constraint: str | None = None  # ON CONFLICT ON CONSTRAINT <name>, folded
    index_predicate: str | None = None  # canonical SQL of `ON CONFLICT (...) WHERE <pred>`
    index_predicate_conjuncts: tuple[str, ...] = ()  # canonical SQL of each AND-ed term
    predicate_has_parameter: bool = False  # a bind parameter inside the index predicate
    update_columns: tuple[str, ...] = ()  # columns assigned by DO UPDATE SET / ODKU
    # Unqualified column references in DO UPDATE's values or WHERE (both the table and
    # EXCLUDED are in scope there), outside subqueries; folded, in order of appearance.
    unqualified_columns: tuple[str, ...] = ()
    # Columns of the proposed row read by DO UPDATE / ODKU (`EXCLUDED.c`, MySQL `VALUES(c)`
    # or `<row alias>.c`), and the assigned columns set to their own proposed value (or to the
    # same named bind parameter the row inserts into them: `VALUES (:k) ... SET k = :k`).
    proposed_columns: tuple[str, ...] = ()
    identity_updates: tuple[str, ...] = ()
    update_where: bool = False  # DO UPDATE ... WHERE: a conflicting row may be left alone
    values_function: bool = False  # ODKU reads the proposed row through VALUES()/VALUE()
    row_alias: str | None = None  # MySQL 8.0.19+: INSERT ... VALUES (...) AS <alias> ON DUPLICATE KEY UPDATE

    @property
    def target_set(self) -> frozenset[str]:
        return frozenset(e.text for e in self.target)

    def describe_target(self) -> str:
        if self.constraint:
            return f"ON CONSTRAINT {self.constraint}"
        if self.target:
            text = "(" + ", ".join(e.text for e in self.target) + ")"
            if self.index_predicate:
                text += f" WHERE {self.index_predicate}"
            return text
        return "(no target)"


@dataclass(frozen=True)
class WriteStatement:
    """What one SQL write statement does, dialect-neutral."""

    kind: WriteKind
    table: TableName  # schema None when the statement does not qualify it
    columns: tuple[str, ...] = ()  # inserted (or updated) columns, folded; () if not listed
    conflict: ConflictClause | None = None
    or_action: str | None = None  # SQLite INSERT OR <REPLACE|IGNORE|...>, MySQL IGNORE
    normalized_sql: str = ""  # placeholders normalised; for display and live verification
    # Each VALUES row: the SQL of each non-NULL literal value, None where it is not known
    # (bind parameter, NULL, expression); () when the statement has no plain VALUES list.
    literal_rows: tuple[tuple[str | None, ...], ...] = ()
    null_columns: tuple[str, ...] = ()  # columns some VALUES row sets to an explicit NULL
    select_ends_in_from: bool = False  # INSERT ... SELECT ... FROM x with nothing after FROM
    returning: bool = False  # has a RETURNING clause
    merge_inserts: bool = False  # MERGE ... WHEN NOT MATCHED THEN INSERT
    merge_key: tuple[str, ...] = ()  # MERGE: target columns its ON condition pins
    # INSERT ... SELECT ... WHERE NOT EXISTS (SELECT 1 FROM <same table> WHERE k = ...): the
    # columns that check pins, a check-then-insert inside one statement.
    not_exists_key: tuple[str, ...] = ()
    unknown: frozenset[str] = frozenset()  # parts built at run time (auditor.sql.holes): rules needing them skip

    def literal_values(self, column: str) -> list[str | None]:
        """The column's value in each VALUES row ([] if the column is not listed)."""
        if column not in self.columns or not self.literal_rows:
            return []
        i = self.columns.index(column)
        return [row[i] for row in self.literal_rows]

    @property
    def non_null_literal_columns(self) -> tuple[str, ...]:
        """Columns that every VALUES row sets to a literal other than NULL."""
        return tuple(c for c in self.columns if (values := self.literal_values(c)) and None not in values)


class SiteStatus(enum.Enum):
    CHECKED = "checked"  # statement parsed, table found in the catalog
    UNKNOWN_TABLE = "unknown table"  # statement parsed, table not in the catalog
    UNRESOLVED = "unresolved"  # the SQL is not a constant we could evaluate
    UNPARSED = "unparsed"  # the SQL is known but sqlglot could not parse it
    AT_CALLS = "checked at its calls"  # a project helper's statement, checked at each call of the helper


@dataclass(frozen=True)
class WriteSite:
    call: SqlCall
    dialect: str
    statement: WriteStatement | None
    status: SiteStatus
    detail: str | None = None  # why unresolved / unparsed / which table is unknown

    @property
    def location(self) -> Location:
        return self.call.location


class IdiomKind(enum.Enum):
    """Several statements in one function that together try to be an upsert."""

    CHECK_THEN_INSERT = "check-then-insert"  # read by key; insert when nothing came back
    UPDATE_THEN_INSERT = "update-then-insert"  # update by key; insert when it matched no row
    INSERT_EXCEPT_INTEGRITY_ERROR = "insert-except-integrity-error"  # try insert; update on IntegrityError
    DELETE_THEN_INSERT = "delete-then-insert"  # delete by key, insert the key again
    SESSION_MERGE = "session-merge"  # SQLAlchemy Session.merge(): select by primary key, then insert
    GET_OR_CREATE = "get-or-create"  # Django / peewee get_or_create, update_or_create
    CHECK_THEN_UPDATE = "check-then-update"  # read by a value; set a row to it when nothing came back


@dataclass(frozen=True)
class IdiomCall:
    """An idiom as the Python code spells it, found by reading one function.

    `guard_sql` is the statement whose outcome decides the write (the SELECT, UPDATE,
    DELETE, or for insert-except the UPDATE in the handler); `write_sql` is the INSERT.
    ORM calls are written in the same neutral SQL form the other ORM extractors use
    (`"<model:Avatar>"`), so one SQL-aware step reads both. Either is None when it is not
    a constant; the engine then cannot check the idiom.
    """

    kind: IdiomKind
    location: Location  # the write call: where the fix goes
    api: str  # what the code calls for the write: execute, create, add, merge, get_or_create, ...
    guard_sql: str | None
    write_sql: str | None
    guard_location: Location | None = None
    driver: str | None = None
    savepoint: bool = False  # insert-except: the insert runs in its own savepoint
    narrow_except: bool = False  # insert-except: the handler catches only unique violations
    serialised_by: str | None = None  # a lock the code takes before the idiom (as written there)
    violation_handled: bool = False  # the write sits in a try whose handler catches the unique violation


@dataclass(frozen=True)
class IdiomSite:
    """An idiom whose statements were read: one table, the key the code means by its lookup."""

    call: IdiomCall
    dialect: str
    table: TableName
    key_columns: tuple[str, ...]  # columns the guard matches by equality (folded)
    insert: WriteStatement | None  # the INSERT, parsed
    inexact_lookup: bool = False  # the lookup also filters by something other than column equality
    case_folded: tuple[str, ...] = ()  # of key_columns, those the lookup compares ignoring case

    @property
    def kind(self) -> IdiomKind:
        return self.call.kind

    @property
    def location(self) -> Location:
        return self.call.location


@dataclass(frozen=True)
class IdiomUnchecked:
    """An idiom the Python reader found that no rule could judge, and why. `upsert` is False
    when its statements turned out not to be one upsert (a guard on another table, an insert
    that does not write the looked-up key): then there was nothing to check."""

    call: IdiomCall
    reason: str
    upsert: bool = True

    @property
    def location(self) -> Location:
        return self.call.location
