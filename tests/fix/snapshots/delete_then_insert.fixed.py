import sqlite3
from auditor.upsert import upsert_record


def replace(conn, user_id, key, value):
    upsert_record(conn, "prefs", {"user_id": user_id, "key": key, "value": value}, conflict=["user_id", "key"], update=["value"])
