import pymysql
from auditor.upsert import upsert_record


def save(conn, user_id, persona):
    with conn.cursor() as cur:
        upsert_record(cur, "avatars", {"user_id": user_id, "persona": persona}, conflict=["user_id"], update=["persona"])
    conn.commit()
