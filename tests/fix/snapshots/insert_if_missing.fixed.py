import sqlite3
from auditor.upsert import upsert_record


def remember(conn: sqlite3.Connection, user_id: int, key: str, value: str) -> None:
    upsert_record(conn, "prefs", {"user_id": user_id, "key": key, "value": value}, conflict=["user_id", "key"], update=[])
    conn.commit()
