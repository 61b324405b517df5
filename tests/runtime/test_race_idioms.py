"""The "race idioms" on the real databases: read-then-write saves duplicate the row, or fail,
when writers for the same key meet; upsert_record() does not.

The idioms live in tests/runtime/race_idioms/ as ordinary application code (the static auditor
reads them too). The race is made deterministic rather than a matter of timing: each writer's
cursor stops the writer, after the idiom's FIRST statement (the read, the UPDATE, the DELETE or
the INSERT), at a shared barrier until every writer has run its own. Where the database makes a
first statement wait for another writer's lock (SQLite's write lock, a row or gap lock), the
writer at the barrier holding that lock would wait forever: a referee asks the database, sees
every missing writer waiting on a lock, and breaks the barrier. The outcome records that as
`serialised`: the database put the writers one behind the other.

The database is the oracle: the rows for the key are counted, and every writer's error is kept
with its SQLSTATE / MariaDB errno / SQLite error name and message.
"""

from __future__ import annotations

import importlib.util
import re
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

import pytest

from auditor.upsert import MissingUniqueKey

psycopg = pytest.importorskip("psycopg")
pymysql = pytest.importorskip("pymysql")

WRITERS = 4
LOSERS = WRITERS - 1
USER_ID = 7
# Only a hang runs into this: the barrier is broken as soon as the database shows that the
# writers still missing are blocked (see referee), not when a timer runs out.
HANG_TIMEOUT = 30


def load_idioms(name: str) -> ModuleType:
    path = Path(__file__).parent / "race_idioms" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"race_idioms_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- holding writers at the barrier -------------------------------------------------------


class Gate:
    """One writer's stop at the race's barrier: after the first statement the idiom sends, once.
    Armed by the writer's thread just before the idiom runs, so that statements a driver sends
    while connecting (PyMySQL runs init_command through a cursor) do not count."""

    def __init__(self) -> None:
        self.reset(None)

    def reset(self, barrier: threading.Barrier | None) -> None:
        """Ready for the next race: the writers keep their connections from race to race."""
        self.barrier, self.armed, self.arrived, self.broken = barrier, False, False, False

    def arm(self) -> None:
        self.armed = True

    def after_statement(self) -> None:
        if not self.armed:
            return
        self.armed, self.arrived = False, True
        try:
            self.barrier.wait(timeout=HANG_TIMEOUT)
        except threading.BrokenBarrierError:
            self.broken = True


def gated(cursor_class: type, gate: Gate) -> type:
    """A cursor class that sends exactly what it is given, then stops at the gate (also when the
    statement failed: a failed INSERT is the first statement of insert_except_integrity_error)."""

    class GatedCursor(cursor_class):
        def execute(self, *args, **kwargs):
            try:
                return super().execute(*args, **kwargs)
            finally:
                gate.after_statement()

    return GatedCursor


def gated_sqlite_connection(gate: Gate) -> type:
    cursor_class = gated(sqlite3.Cursor, gate)

    class GatedConnection(sqlite3.Connection):
        def cursor(self, factory=cursor_class):
            return super().cursor(factory)

    # upsert_record() recognises the driver by the connection class's module: keep it sqlite3's.
    GatedConnection.__module__ = "sqlite3"
    return GatedConnection


@dataclass
class Writer:
    conn: Any
    gate: Gate
    session: Any  # the server's id for the connection: PostgreSQL backend pid, MariaDB thread id


def referee(target: Target, barrier: threading.Barrier, tripped: threading.Event, writers: list[Writer]) -> bool:
    """Wait until every writer has reached the barrier, or break it (and return True) once every
    writer still missing is blocked by the database: those can only go on when a writer at the
    barrier commits, so they are serialised behind it, and waiting longer would change nothing."""
    deadline = time.monotonic() + HANG_TIMEOUT
    while time.monotonic() < deadline:
        missing = [w for w in writers if not w.gate.arrived]
        if not missing:
            return False
        # Checked again after asking: a writer that reached the barrier meanwhile may already be
        # waiting on a lock in its SECOND statement, which is the race itself, not serialisation.
        if target.blocked(missing, [w for w in writers if w.gate.arrived]) and not any(w.gate.arrived for w in missing):
            barrier.abort()
            return True
        if tripped.wait(target.poll):  # every writer reached the barrier
            return False
    raise AssertionError("a writer neither reached the barrier nor was blocked by the database")


# --- the databases -------------------------------------------------------------------------


class Target:
    """One database under test: its idioms, the avatars table with or without the unique key on
    user_id, a control connection (autocommit) for setup, counting and asking who is blocked,
    and WRITERS gated connections kept open from race to race."""

    idioms: ModuleType
    table: str
    table_with_key: str
    mark = "%s"
    poll = 0.005  # seconds between the referee's looks

    def __init__(self) -> None:
        self._control: Any = None
        self._writers: list[Writer] = []

    # what each database says differently
    def open(self, gate: Gate | None = None) -> Any:
        """A connection as the application opens it; its cursors stop at `gate`, if given."""
        raise NotImplementedError

    def open_control(self) -> Any:
        raise NotImplementedError

    def session(self, conn: Any) -> Any:
        return None

    def blocked(self, missing: list[Writer], arrived: list[Writer]) -> bool:
        """Is every writer in `missing` (not at the barrier yet) waiting on a lock?"""
        raise NotImplementedError

    # the same for all
    @property
    def control(self) -> Any:
        if self._control is None:
            self._control = self.open_control()
        return self._control

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        cur = self.control.cursor()
        cur.execute(sql, params)
        rows = [tuple(row) for row in cur.fetchall()] if cur.description else []
        cur.close()
        return rows

    def create(self, *, unique: bool) -> None:
        self.query("DROP TABLE IF EXISTS avatars")
        self.query(self.table_with_key if unique else self.table)

    def seed(self, user_id: int = USER_ID) -> None:
        self.query(f"INSERT INTO avatars (user_id, persona) VALUES ({self.mark}, {self.mark})", (user_id, "seed"))

    def personas(self, user_id: int = USER_ID) -> list[str]:
        return [row[0] for row in self.query(f"SELECT persona FROM avatars WHERE user_id = {self.mark} ORDER BY id", (user_id,))]

    def writers(self, barrier: threading.Barrier) -> list[Writer]:
        if not self._writers:  # opened once: PyMySQL spends ~50 ms of CPU on each connect
            gates = [Gate() for _ in range(WRITERS)]
            self._writers = [Writer(conn, gate, self.session(conn)) for gate in gates for conn in [self.open(gate)]]
        for writer in self._writers:
            writer.gate.reset(barrier)
        return self._writers

    def close(self) -> None:
        for conn in [w.conn for w in self._writers] + [self._control]:
            if conn is not None:
                conn.close()


class SqliteTarget(Target):
    mark = "?"
    table = "CREATE TABLE avatars (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, persona TEXT)"
    table_with_key = "CREATE TABLE avatars (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL UNIQUE, persona TEXT)"

    def __init__(self, path: Path):
        super().__init__()
        self.path, self.idioms = path, load_idioms("sqlite_idioms")

    def open(self, gate: Gate | None = None) -> sqlite3.Connection:
        factory = gated_sqlite_connection(gate) if gate else sqlite3.Connection
        # Default (legacy) transaction handling: BEGIN before the first INSERT/UPDATE/DELETE.
        # A high timeout: a writer that finds the write lock taken waits for it instead of
        # failing with "database is locked".
        return sqlite3.connect(self.path, timeout=HANG_TIMEOUT, check_same_thread=False, factory=factory)

    def open_control(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=HANG_TIMEOUT, isolation_level=None)

    def blocked(self, missing: list[Writer], arrived: list[Writer]) -> bool:
        # No server to ask, but SQLite has one write lock per database file: a writer waiting at
        # the barrier inside a write transaction holds it, so no writer whose first statement
        # writes can finish that statement. (All writers run the same idiom, and in the legacy
        # mode a SELECT opens no transaction.)
        return any(w.conn.in_transaction for w in arrived)


class PostgresTarget(Target):
    table = "CREATE TABLE avatars (id serial PRIMARY KEY, user_id int NOT NULL, persona text)"
    table_with_key = "CREATE TABLE avatars (id serial PRIMARY KEY, user_id int NOT NULL CONSTRAINT avatars_user_id_key UNIQUE, persona text)"

    def __init__(self, url: str):
        super().__init__()
        self.url, self.idioms = url, load_idioms("psycopg_idioms")

    def open(self, gate: Gate | None = None) -> psycopg.Connection:
        if gate is None:
            return psycopg.connect(self.url)
        return psycopg.connect(self.url, cursor_factory=gated(psycopg.Cursor, gate))

    def open_control(self) -> psycopg.Connection:
        return psycopg.connect(self.url, autocommit=True)  # autocommit: a fresh pg_stat_activity each time

    def session(self, conn: psycopg.Connection) -> int:
        return conn.info.backend_pid

    def waiting_on_a_lock(self, pids: list[int]) -> bool:
        query = "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s) AND wait_event_type = 'Lock'"
        return self.query(query, (pids,))[0][0] == len(pids)

    def blocked(self, missing: list[Writer], arrived: list[Writer]) -> bool:
        return self.waiting_on_a_lock([w.session for w in missing])


class MariadbTarget(Target):
    table = "CREATE TABLE avatars (id int AUTO_INCREMENT PRIMARY KEY, user_id int NOT NULL, persona varchar(40)) ENGINE=InnoDB"
    table_with_key = (
        "CREATE TABLE avatars (id int AUTO_INCREMENT PRIMARY KEY, user_id int NOT NULL, persona varchar(40), "
        "UNIQUE KEY avatars_user_id_key (user_id)) ENGINE=InnoDB"
    )
    poll = 0.02

    def __init__(self, params: dict, isolation: str | None = None):
        super().__init__()
        self.params, self.idioms = params, load_idioms("pymysql_idioms")
        # A lock wait this long would be a bug in the test, not a result: fail in seconds, not 50.
        self.init = "SET SESSION innodb_lock_wait_timeout = 10"
        if isolation:  # e.g. READ-COMMITTED, what Django's MySQL backend sets
            self.init += f", SESSION tx_isolation = '{isolation}'"

    def open(self, gate: Gate | None = None) -> Any:
        cursor_class = gated(pymysql.cursors.Cursor, gate) if gate else pymysql.cursors.Cursor
        return pymysql.connect(init_command=self.init, cursorclass=cursor_class, **self.params)

    def open_control(self) -> Any:
        return pymysql.connect(autocommit=True, **self.params)

    def session(self, conn: Any) -> int:
        return conn.thread_id()

    def blocked(self, missing: list[Writer], arrived: list[Writer]) -> bool:
        # Read live from the InnoDB monitor. information_schema.INNODB_TRX would be simpler, but
        # it is a cached snapshot, refreshed only after nobody has read it for 0.1 s: it can show
        # the previous race's lock waits under the same connection ids.
        status = self.query("SHOW ENGINE INNODB STATUS")[0][2]
        waiting = set()
        for transaction in status.split("---TRANSACTION ")[1:]:  # "LOCK WAIT" marks a waiting one
            thread = re.search(r"thread id (\d+)", transaction)
            if "\nLOCK WAIT " in transaction and thread:
                waiting.add(int(thread.group(1)))
        return all(w.session in waiting for w in missing)


# --- the race ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Failure:
    """An error a writer got: its class, SQLSTATE / MariaDB errno / SQLite error name, message."""

    kind: str
    code: str | int | None
    message: str

    @classmethod
    def of(cls, error: BaseException) -> Failure:
        if isinstance(error, psycopg.Error):
            code, message = error.sqlstate, str(error)
        elif isinstance(error, pymysql.MySQLError) and len(error.args) == 2:
            code, message = error.args
        else:
            code, message = getattr(error, "sqlite_errorname", None), str(error)
        return cls(type(error).__name__, code, message.splitlines()[0] if message else "")


@dataclass(frozen=True)
class Summary:
    """What a race comes down to, observed or expected: rows left for the key, the losers' error
    codes and distinct messages (sorted), and whether the database serialised the writers."""

    rows: int
    codes: tuple = ()
    messages: tuple[str, ...] = ()
    serialised: bool = False


@dataclass
class Outcome:
    """What a race left: the rows for the key, the writers' errors, and whether the database
    made a writer's first statement wait for another writer (the barrier was broken)."""

    rows: int
    failures: list[Failure] = field(default_factory=list)
    serialised: bool = False

    @property
    def summary(self) -> Summary:
        codes = tuple(sorted(f.code for f in self.failures))
        return Summary(self.rows, codes, tuple(sorted({f.message for f in self.failures})), self.serialised)


def race(target: Target, idiom: str, user_id: int = USER_ID) -> Outcome:
    """WRITERS threads, each on its own connection, run the same idiom for the same key with
    different personas, all held after their first statement until every one has run it."""
    save = getattr(target.idioms, idiom)
    tripped = threading.Event()
    barrier = threading.Barrier(WRITERS, action=tripped.set)
    crew = target.writers(barrier)
    failures: list[Failure] = []

    def write(writer: Writer, persona: str) -> None:
        writer.gate.arm()
        try:
            save(writer.conn, user_id, persona)
        except Exception as error:  # noqa: BLE001 - the errors are the result
            # Keep a record, not the exception: kept, its traceback would hold the idiom's cursor
            # in a reference cycle, and when the garbage collector frees a sqlite3 cursor (in
            # whatever thread it happens to run) the free waits for the cursor's connection. In a
            # later race that connection may be waiting on a writer at the barrier: the race
            # then stalls until SQLite's busy timeout.
            failures.append(Failure.of(error))
            writer.conn.rollback()

    threads = [threading.Thread(target=write, args=(w, f"persona-{n}")) for n, w in enumerate(crew)]
    for thread in threads:
        thread.start()
    serialised = referee(target, barrier, tripped, crew)
    for thread in threads:
        thread.join(timeout=HANG_TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), "a writer hung"
    assert serialised or not any(w.gate.broken for w in crew), "the barrier timed out"
    return Outcome(len(target.personas(user_id)), failures, serialised)


# "delete_then_insert_existing" is delete_then_insert with the user's row already saved (the
# usual case for a "replace"); every other case starts with no row for the key.
CASES = ["check_then_insert", "update_then_insert", "delete_then_insert", "delete_then_insert_existing", "insert_except_integrity_error"]


def race_every_case(target: Target, *, unique: bool) -> dict[str, Summary]:
    """Each case on a freshly created table; all are run before anything is asserted, so a
    failing test shows every case that differs."""
    summaries = {}
    for case in CASES:
        target.create(unique=unique)
        idiom = case.removesuffix("_existing")
        if idiom != case:
            target.seed()
        summaries[case] = race(target, idiom).summary
    return summaries


def losers(code: str | int, message: str, count: int = LOSERS, serialised: bool = False) -> Summary:
    """One row left, and `count` writers failed with `code`."""
    return Summary(1, (code,) * count, (message,), serialised)


ALL_INSERT = Summary(WRITERS)  # every writer inserted its own row
ONE_BY_ONE = Summary(1, serialised=True)  # the database ran the writers one after the other
PG_DUPLICATE = 'duplicate key value violates unique constraint "avatars_user_id_key"'
PG_ABORTED = "current transaction is aborted, commands ignored until end of transaction block"
MARIADB_DUPLICATE = "Duplicate entry '7' for key 'avatars_user_id_key'"
MARIADB_DEADLOCK = "Deadlock found when trying to get lock; try restarting transaction"
SQLITE_DUPLICATE = "UNIQUE constraint failed: avatars.user_id"


# --- the targets, as fixtures (each closes its connections) -----------------------------------


@pytest.fixture
def sqlite_db(tmp_path):
    target = SqliteTarget(tmp_path / "db.sqlite")
    yield target
    target.close()


@pytest.fixture
def postgres(pg_database):
    target = PostgresTarget(pg_database)
    yield target
    target.close()


@pytest.fixture
def mariadb(mariadb_database):
    target = MariadbTarget(mariadb_database)
    yield target
    target.close()


@pytest.fixture
def mariadb_rc(mariadb_database):
    target = MariadbTarget(mariadb_database, "READ-COMMITTED")
    yield target
    target.close()


# --- PostgreSQL (psycopg 3, READ COMMITTED) --------------------------------------------------


def test_postgres_without_a_unique_key_every_writer_inserts_its_own_row(postgres):
    """PostgreSQL, READ COMMITTED, no key on user_id: every idiom ends with one row PER WRITER
    (4), without an error. All four reads / UPDATEs / DELETEs / INSERTs find no row and take no
    lock another writer wants. With the row already saved, the DELETEs queue on its row lock
    (serialised); once the first writer commits, each of the others finds the old row gone,
    does not see the first writer's new one, deletes nothing, and inserts: still 4 rows."""
    assert race_every_case(postgres, unique=False) == {
        "check_then_insert": ALL_INSERT,
        "update_then_insert": ALL_INSERT,
        "delete_then_insert": ALL_INSERT,
        "delete_then_insert_existing": Summary(WRITERS, serialised=True),
        "insert_except_integrity_error": ALL_INSERT,
    }


def test_postgres_with_a_unique_key_the_losers_get_23505(postgres):
    """PostgreSQL, READ COMMITTED, UNIQUE (user_id): one row, and each of the 3 losing writers
    fails with 23505 unique_violation instead of saving (serialised on the old row's lock when
    it existed). insert_except_integrity_error does not rescue them: their INSERTs wait on the
    winner's uncommitted row (serialised), fail with 23505 when it commits, which aborts their
    transactions, so the UPDATE in the except branch fails with 25P02."""
    assert race_every_case(postgres, unique=True) == {
        "check_then_insert": losers("23505", PG_DUPLICATE),
        "update_then_insert": losers("23505", PG_DUPLICATE),
        "delete_then_insert": losers("23505", PG_DUPLICATE),
        "delete_then_insert_existing": losers("23505", PG_DUPLICATE, serialised=True),
        "insert_except_integrity_error": losers("25P02", PG_ABORTED, serialised=True),
    }


def test_postgres_insert_except_integrity_error_fails_even_alone(postgres):
    """One writer, no concurrency, the key already saved: on PostgreSQL the INSERT's 23505 aborts
    the transaction (there is no savepoint around the INSERT), so the UPDATE in the except
    branch fails with 25P02 InFailedSqlTransaction and the row keeps its old value."""
    postgres.create(unique=True)
    postgres.seed()
    conn = postgres.open()
    with pytest.raises(psycopg.errors.InFailedSqlTransaction) as error:
        postgres.idioms.insert_except_integrity_error(conn, USER_ID, "new")
    assert error.value.sqlstate == "25P02"
    conn.close()
    assert postgres.personas() == ["seed"]


class HeldConnection(psycopg.Connection):
    """A connection whose commit() waits until released: its transaction stays open meanwhile."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.holding, self.release = threading.Event(), threading.Event()

    def commit(self) -> None:
        self.holding.set()
        assert self.release.wait(HANG_TIMEOUT), "never released"
        super().commit()


def in_thread(call: Callable[[], Any]) -> Callable[[], BaseException | None]:
    """Start `call` in a thread; the returned function joins it and gives its exception, if any."""
    raised: list[BaseException | None] = [None]

    def body() -> None:
        try:
            call()
        except Exception as error:  # noqa: BLE001 - handed to the caller
            raised[0] = error

    thread = threading.Thread(target=body)
    thread.start()

    def join() -> BaseException | None:
        thread.join(HANG_TIMEOUT)
        assert not thread.is_alive(), "hung"
        return raised[0]

    return join


def test_postgres_merge_with_a_unique_key_loser_gets_23505(postgres, pg_database):
    """MERGE is not an atomic upsert. A's MERGE inserts the new key and is held before its
    commit; B's MERGE cannot see A's row, takes WHEN NOT MATCHED, and waits on A's entry in the
    unique index (seen in pg_stat_activity, so the schedule is fixed, not timed); A commits, and
    B fails with 23505 instead of taking the WHEN MATCHED branch."""
    postgres.create(unique=True)
    a, b = HeldConnection.connect(pg_database), postgres.open()
    a_done = in_thread(lambda: postgres.idioms.merge_upsert(a, USER_ID, "from-a"))
    assert a.holding.wait(HANG_TIMEOUT), "A never reached its commit"
    b_done = in_thread(lambda: postgres.idioms.merge_upsert(b, USER_ID, "from-b"))
    deadline = time.monotonic() + HANG_TIMEOUT
    while not postgres.waiting_on_a_lock([b.info.backend_pid]):
        assert time.monotonic() < deadline, "B never waited on a lock"
        time.sleep(0.005)
    a.release.set()
    assert a_done() is None
    error = b_done()
    assert isinstance(error, psycopg.errors.UniqueViolation) and error.sqlstate == "23505", error
    for conn in (a, b):
        conn.close()
    assert postgres.personas() == ["from-a"]


# --- MariaDB (PyMySQL, InnoDB) -------------------------------------------------------------------


def test_mariadb_sessions_are_repeatable_read_unless_set(mariadb, mariadb_rc):
    """What the MariaDB races below run under: InnoDB's default REPEATABLE READ for a plain
    PyMySQL connection, and READ COMMITTED where the session sets it (as Django does)."""
    for target, expected in ((mariadb, "REPEATABLE-READ"), (mariadb_rc, "READ-COMMITTED")):
        conn = target.open()
        with conn.cursor() as cur:
            cur.execute("SELECT @@tx_isolation")
            assert cur.fetchone()[0] == expected
        conn.close()


def test_mariadb_repeatable_read_without_a_unique_key(mariadb):
    """MariaDB, REPEATABLE READ, no key (and no index) on user_id.
    check_then_insert, insert_except_integrity_error: the plain SELECTs / the INSERTs take no
    lock another writer wants: all 4 insert, 4 rows.
    update_then_insert, delete_then_insert (no row yet): each UPDATE/DELETE scans the table and
    takes a gap (next-key) lock; gap locks do not conflict, so nobody waits, but then each
    INSERT waits for the others' gap locks: InnoDB kills 3 writers with deadlock 1213, 1 row.
    delete_then_insert with the row saved: the DELETEs queue on its lock and each, in turn,
    deletes the previous writer's row: 1 row, no error."""
    assert race_every_case(mariadb, unique=False) == {
        "check_then_insert": ALL_INSERT,
        "update_then_insert": losers(1213, MARIADB_DEADLOCK),
        "delete_then_insert": losers(1213, MARIADB_DEADLOCK),
        "delete_then_insert_existing": ONE_BY_ONE,
        "insert_except_integrity_error": ALL_INSERT,
    }


def test_mariadb_repeatable_read_with_a_unique_key(mariadb):
    """MariaDB, REPEATABLE READ, UNIQUE (user_id).
    check_then_insert: the 3 losers get 1062 duplicate entry.
    update_then_insert, delete_then_insert (no row yet): the gap locks on the unique index turn
    the INSERTs into deadlocks: 3 x 1213. With the row saved the DELETEs serialise: 1 row.
    insert_except_integrity_error: the losers' INSERTs wait on the winner's row (serialised),
    get 1062 but keep a shared lock on it, so their UPDATEs deadlock each other: 2 x 1213, and
    the one left updates."""
    assert race_every_case(mariadb, unique=True) == {
        "check_then_insert": losers(1062, MARIADB_DUPLICATE),
        "update_then_insert": losers(1213, MARIADB_DEADLOCK),
        "delete_then_insert": losers(1213, MARIADB_DEADLOCK),
        "delete_then_insert_existing": ONE_BY_ONE,
        "insert_except_integrity_error": losers(1213, MARIADB_DEADLOCK, count=LOSERS - 1, serialised=True),
    }


def test_mariadb_read_committed_without_a_unique_key(mariadb_rc):
    """MariaDB, READ COMMITTED (Django's setting), no key on user_id: no gap locks, so every idiom
    on an absent row ends with 4 rows and no error. delete_then_insert on a saved row is the
    exception: the DELETEs queue on the row's lock and each deletes the row the writer before
    it inserted: 1 row."""
    assert race_every_case(mariadb_rc, unique=False) == {
        "check_then_insert": ALL_INSERT,
        "update_then_insert": ALL_INSERT,
        "delete_then_insert": ALL_INSERT,
        "delete_then_insert_existing": ONE_BY_ONE,
        "insert_except_integrity_error": ALL_INSERT,
    }


def test_mariadb_read_committed_with_a_unique_key(mariadb_rc):
    """MariaDB, READ COMMITTED, UNIQUE (user_id): the 3 losers of check_then_insert,
    update_then_insert and delete_then_insert get 1062 duplicate entry; delete_then_insert on a
    saved row serialises (1 row, no error); insert_except_integrity_error's losers deadlock in
    the except branch as under REPEATABLE READ (2 x 1213)."""
    assert race_every_case(mariadb_rc, unique=True) == {
        "check_then_insert": losers(1062, MARIADB_DUPLICATE),
        "update_then_insert": losers(1062, MARIADB_DUPLICATE),
        "delete_then_insert": losers(1062, MARIADB_DUPLICATE),
        "delete_then_insert_existing": ONE_BY_ONE,
        "insert_except_integrity_error": losers(1213, MARIADB_DEADLOCK, count=LOSERS - 1, serialised=True),
    }


# --- SQLite (sqlite3, file database) ---------------------------------------------------------


def test_sqlite_without_a_unique_key(sqlite_db):
    """SQLite, no key on user_id.
    check_then_insert: sqlite3 opens no transaction for a SELECT, so all 4 reads see no row and
    all 4 writers insert: 4 rows.
    insert_except_integrity_error: the INSERTs take the database's write lock one after the
    other (serialised), but nothing conflicts: 4 rows.
    update_then_insert, delete_then_insert: the first statement already takes the write lock
    (even when it matches no row), so the writers run one after the other and each later one
    finds the row: 1 row. SQLite serialises these idioms; it does not make them right."""
    assert race_every_case(sqlite_db, unique=False) == {
        "check_then_insert": ALL_INSERT,
        "update_then_insert": ONE_BY_ONE,
        "delete_then_insert": ONE_BY_ONE,
        "delete_then_insert_existing": ONE_BY_ONE,
        "insert_except_integrity_error": Summary(WRITERS, serialised=True),
    }


def test_sqlite_with_a_unique_key(sqlite_db):
    """SQLite, UNIQUE (user_id). check_then_insert: the 3 losers get "UNIQUE constraint failed:
    avatars.user_id" (SQLITE_CONSTRAINT_UNIQUE). The idioms whose first statement writes are
    serialised by the write lock and end with 1 row and no error, insert_except_integrity_error
    included: a failed INSERT does not abort a SQLite transaction."""
    assert race_every_case(sqlite_db, unique=True) == {
        "check_then_insert": losers("SQLITE_CONSTRAINT_UNIQUE", SQLITE_DUPLICATE),
        "update_then_insert": ONE_BY_ONE,
        "delete_then_insert": ONE_BY_ONE,
        "delete_then_insert_existing": ONE_BY_ONE,
        "insert_except_integrity_error": ONE_BY_ONE,
    }


# --- insert_except_integrity_error alone, and the fix ---------------------------------------


@pytest.mark.parametrize("name", ["sqlite_db", "mariadb"])
def test_insert_except_integrity_error_passes_alone_on_sqlite_and_mariadb(request, name):
    """The single-writer call that fails on PostgreSQL (25P02, above) succeeds on SQLite and
    MariaDB, whose transactions survive a failed INSERT: a test suite run on those passes, and
    the code ships broken for PostgreSQL."""
    target = request.getfixturevalue(name)
    target.create(unique=True)
    target.seed()
    conn = target.open()
    target.idioms.insert_except_integrity_error(conn, USER_ID, "new")
    conn.close()
    assert target.personas() == ["new"]


@pytest.mark.parametrize("name", ["sqlite_db", "postgres", "mariadb", "mariadb_rc"])
def test_upsert_record_leaves_one_row_and_no_error(request, name):
    """The fix under the same harness and load: upsert_record() (INSERT ... ON CONFLICT / ON
    DUPLICATE KEY UPDATE) with UNIQUE (user_id), for a new key and for a saved one: one row,
    no writer fails, and the row holds one of the writers' personas. (Whether the writers were
    serialised is not asserted: on a saved key they rightly queue on its row lock.)"""
    target = request.getfixturevalue(name)
    target.create(unique=True)
    target.seed(USER_ID + 1)
    for user_id in (USER_ID, USER_ID + 1):
        outcome = race(target, "upsert_record_save", user_id=user_id)
        assert (outcome.rows, outcome.failures) == (1, []), user_id
        assert target.personas(user_id)[0] in {f"persona-{n}" for n in range(WRITERS)}


@pytest.mark.parametrize("name", ["sqlite_db", "postgres", "mariadb"])
def test_upsert_record_refuses_a_table_without_the_key(request, name):
    """Without UNIQUE (user_id) upsert_record() cannot be atomic: every writer gets
    MissingUniqueKey and nothing is written."""
    target = request.getfixturevalue(name)
    target.create(unique=False)
    outcome = race(target, "upsert_record_save")
    assert outcome.rows == 0
    assert [f.kind for f in outcome.failures] == [MissingUniqueKey.__name__] * WRITERS
    assert all("(user_id) is not a unique key of table avatars" in f.message for f in outcome.failures)


# --- one statement: INSERT ... SELECT ... WHERE NOT EXISTS (UPS107) --------------------------------


def race_not_exists(target: Target, unique: bool) -> Summary:
    target.create(unique=unique)
    return race(target, "insert_where_not_exists").summary


def test_postgres_insert_where_not_exists_is_a_check_then_insert(postgres):
    """One statement, still a check then an insert: under READ COMMITTED each writer's NOT
    EXISTS reads a snapshot without the others' uncommitted rows, so all four insert. With the
    key, the losers wait on the winner's index entry (serialised) and fail with 23505."""
    assert race_not_exists(postgres, unique=False) == ALL_INSERT
    assert race_not_exists(postgres, unique=True) == losers("23505", PG_DUPLICATE, serialised=True)


def test_mariadb_read_committed_insert_where_not_exists_duplicates(mariadb_rc):
    """MariaDB, READ COMMITTED (Django's setting): the NOT EXISTS is a consistent read that
    takes no lock, so all four insert; with the key the losers fail with 1062."""
    assert race_not_exists(mariadb_rc, unique=False) == ALL_INSERT
    assert race_not_exists(mariadb_rc, unique=True) == losers(1062, MARIADB_DUPLICATE, serialised=True)


def test_mariadb_repeatable_read_insert_where_not_exists(mariadb):
    """MariaDB, REPEATABLE READ (InnoDB's default): the SELECT of an INSERT ... SELECT locks
    what it reads, gaps included, so no duplicate is left, with or without the key. The losers
    either queue (serialised) and then find the row, or fail with 1467 ("Failed to read
    auto-increment value from storage engine"): which one depends on when they meet the lock."""
    for unique in (False, True):
        summary = race_not_exists(mariadb, unique=unique)
        assert summary.rows == 1 and set(summary.codes) <= {1467}, summary
