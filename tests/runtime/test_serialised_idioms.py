"""A check-then-insert the code serialises with a lock taken first is reported as info,
naming the lock; raced on PostgreSQL: with the parent row locked FOR UPDATE before the
check, two writers leave one row; without the lock, two."""

from __future__ import annotations

import json
import threading
import time

import pytest

from auditor.cli import main

SCHEMA = """
CREATE TABLE orders (id int PRIMARY KEY);
CREATE TABLE discounts (id serial PRIMARY KEY, order_id int NOT NULL REFERENCES orders (id), kind text NOT NULL);
"""

APP = '''
import threading

import psycopg

LOCKS = {}


def row_locked(conn, order_id, pause):
    with conn.transaction():
        conn.execute("SELECT id FROM orders WHERE id = %s FOR UPDATE", (order_id,))
        found = conn.execute("SELECT id FROM discounts WHERE order_id = %s AND kind = 'promo'", (order_id,)).fetchone()
        pause()
        if found is None:
            conn.execute("INSERT INTO discounts (order_id, kind) VALUES (%s, 'promo')", (order_id,))


def unlocked(conn, order_id, pause):
    with conn.transaction():
        found = conn.execute("SELECT id FROM discounts WHERE order_id = %s AND kind = 'promo'", (order_id,)).fetchone()
        pause()
        if found is None:
            conn.execute("INSERT INTO discounts (order_id, kind) VALUES (%s, 'promo')", (order_id,))


def mutex_held(conn, order_id):
    with LOCKS.setdefault(order_id, threading.Lock()):
        if conn.execute("SELECT id FROM discounts WHERE order_id = %s AND kind = 'promo'", (order_id,)).fetchone() is None:
            conn.execute("INSERT INTO discounts (order_id, kind) VALUES (%s, 'promo')", (order_id,))


def lock_helper_first(conn, order_id):
    _lock_order(conn, order_id)
    if conn.execute("SELECT id FROM discounts WHERE order_id = %s AND kind = 'promo'", (order_id,)).fetchone() is None:
        conn.execute("INSERT INTO discounts (order_id, kind) VALUES (%s, 'promo')", (order_id,))


def block_first(conn, order_id):
    get_block(order_id)  # "block" is not a lock
    if conn.execute("SELECT id FROM discounts WHERE order_id = %s AND kind = 'promo'", (order_id,)).fetchone() is None:
        conn.execute("INSERT INTO discounts (order_id, kind) VALUES (%s, 'promo')", (order_id,))
'''

# the line of each function's INSERT, and the lock the finding should name (None: a warning)
EXPECTED = {
    15: "SELECT id FROM orders WHERE id = %s FOR UPDATE",
    23: None,
    29: "LOCKS.setdefault(order_id, threading.Lock())",
    35: "_lock_order(conn, order_id)",
    41: None,
}


def test_a_lock_taken_first_makes_the_race_info_and_is_named(tmp_path, capsys):
    (tmp_path / "schema.sql").write_text(SCHEMA)
    (tmp_path / "app.py").write_text(APP)
    main(["check", str(tmp_path), "--format", "json", "--no-cache", "--dialect", "postgres"])
    findings = {f["line"]: f for f in json.loads(capsys.readouterr().out)["findings"] if f["rule"] == "UPS101"}
    assert set(findings) == set(EXPECTED)
    for line, lock in EXPECTED.items():
        finding = findings[line]
        if lock is None:
            assert finding["severity"] == "warning" and "lock" not in finding["message"]
        else:
            assert finding["severity"] == "info", line
            assert lock[:40] in finding["message"], finding["message"]


@pytest.mark.parametrize(("function", "rows"), [("row_locked", 1), ("unlocked", 2)])
def test_two_writers_on_postgres(function, rows, tmp_path, pg_database, monkeypatch):
    psycopg = pytest.importorskip("psycopg")
    (tmp_path / "app.py").write_text(APP)
    monkeypatch.syspath_prepend(str(tmp_path))
    import importlib

    app = importlib.import_module("app")
    try:
        with psycopg.connect(pg_database, autocommit=True) as setup:
            setup.execute(SCHEMA)
            setup.execute("INSERT INTO orders VALUES (1)")
        met = threading.Barrier(2)
        # Unlocked, both writers meet between their check and their insert; locked, the second
        # waits at FOR UPDATE while the first sleeps between its check and insert.
        pause = (lambda: met.wait(timeout=5)) if function == "unlocked" else (lambda: time.sleep(0.3))

        def writer():
            with psycopg.connect(pg_database, autocommit=True) as conn:
                getattr(app, function)(conn, 1, pause)

        threads = [threading.Thread(target=writer) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        with psycopg.connect(pg_database) as check:
            assert check.execute("SELECT count(*) FROM discounts").fetchone()[0] == rows
    finally:
        import sys

        sys.modules.pop("app", None)
