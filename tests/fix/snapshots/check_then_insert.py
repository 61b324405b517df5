"""Check-then-insert with an update branch (psycopg)."""

import psycopg


def save(conn, user_id, persona):
    with conn.cursor() as cur:
        # Look the row up first.
        cur.execute("SELECT id FROM avatars WHERE user_id = %s", (user_id,))
        if cur.fetchone() is None:
            cur.execute("INSERT INTO avatars (user_id, persona) VALUES (%s, %s)", (user_id, persona))
        else:
            cur.execute("UPDATE avatars SET persona = %s WHERE user_id = %s", (persona, user_id))
    conn.commit()  # the code around the idiom is kept as it was
