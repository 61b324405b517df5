"""Ways application code saves "the avatar of user N" in PostgreSQL (psycopg 3), one idiom per function.

Every function but the last is the read-then-write shape that races: two requests for the same
user can both take the "insert" branch. upsert_record_save is the fix. The runtime tests in
tests/runtime/test_race_idioms.py run these against a real PostgreSQL database; the static auditor
reads this module as ordinary application code.
"""

import psycopg

from auditor.upsert import upsert_record


def check_then_insert(conn, user_id, persona):
    cur = conn.cursor()
    cur.execute("SELECT id FROM avatars WHERE user_id = %s", (user_id,))
    if cur.fetchone() is None:
        cur.execute("INSERT INTO avatars (user_id, persona) VALUES (%s, %s)", (user_id, persona))
    else:
        cur.execute("UPDATE avatars SET persona = %s WHERE user_id = %s", (persona, user_id))
    conn.commit()


def update_then_insert(conn, user_id, persona):
    cur = conn.cursor()
    cur.execute("UPDATE avatars SET persona = %s WHERE user_id = %s", (persona, user_id))
    if cur.rowcount == 0:
        cur.execute("INSERT INTO avatars (user_id, persona) VALUES (%s, %s)", (user_id, persona))
    conn.commit()


def insert_except_integrity_error(conn, user_id, persona):
    cur = conn.cursor()
    try:
        cur.execute("INSERT INTO avatars (user_id, persona) VALUES (%s, %s)", (user_id, persona))
    except psycopg.IntegrityError:
        cur.execute("UPDATE avatars SET persona = %s WHERE user_id = %s", (persona, user_id))
    conn.commit()


def delete_then_insert(conn, user_id, persona):
    cur = conn.cursor()
    cur.execute("DELETE FROM avatars WHERE user_id = %s", (user_id,))
    cur.execute("INSERT INTO avatars (user_id, persona) VALUES (%s, %s)", (user_id, persona))
    conn.commit()


def upsert_record_save(conn, user_id, persona):
    upsert_record(conn, "avatars", {"user_id": user_id, "persona": persona}, conflict=["user_id"])
    conn.commit()


def merge_upsert(conn, user_id, persona):
    cur = conn.cursor()
    cur.execute(
        """
        MERGE INTO avatars USING (SELECT %s::int AS user_id, %s::text AS persona) AS s
        ON avatars.user_id = s.user_id
        WHEN MATCHED THEN UPDATE SET persona = s.persona
        WHEN NOT MATCHED THEN INSERT (user_id, persona) VALUES (s.user_id, s.persona)
        """,
        (user_id, persona),
    )
    conn.commit()


def insert_where_not_exists(conn, user_id, persona):
    cur = conn.cursor()
    cur.execute(
        "INSERT INTO avatars (user_id, persona) SELECT %s, %s "
        "WHERE NOT EXISTS (SELECT 1 FROM avatars WHERE user_id = %s)",
        (user_id, persona, user_id),
    )
    conn.commit()
