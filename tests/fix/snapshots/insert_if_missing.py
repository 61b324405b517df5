import sqlite3


def remember(conn: sqlite3.Connection, user_id: int, key: str, value: str) -> None:
    row = conn.execute("SELECT value FROM prefs WHERE user_id = ? AND key = ?", (user_id, key)).fetchone()
    if not row:
        conn.execute("INSERT INTO prefs (user_id, key, value) VALUES (?, ?, ?)", (user_id, key, value))
    conn.commit()
