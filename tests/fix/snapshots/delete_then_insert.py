import sqlite3


def replace(conn, user_id, key, value):
    conn.execute("DELETE FROM prefs WHERE user_id = ? AND key = ?", (user_id, key))  # old value
    conn.execute("INSERT INTO prefs (user_id, key, value) VALUES (?, ?, ?)", (user_id, key, value))
