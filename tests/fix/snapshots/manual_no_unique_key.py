# manual: no unique key covers user_id
import psycopg


def log_first(conn, user_id, kind):
    if conn.execute("SELECT id FROM events WHERE user_id = %s", (user_id,)).fetchone() is None:
        conn.execute("INSERT INTO events (user_id, kind) VALUES (%s, %s)", (user_id, kind))
