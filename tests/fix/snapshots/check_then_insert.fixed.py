"""Check-then-insert with an update branch (psycopg)."""

import psycopg
from auditor.upsert import upsert_record


def save(conn, user_id, persona):
    with conn.cursor() as cur:
        # Look the row up first.
        upsert_record(cur, "avatars", {"user_id": user_id, "persona": persona}, conflict=["user_id"], update=["persona"])
    conn.commit()  # the code around the idiom is kept as it was
