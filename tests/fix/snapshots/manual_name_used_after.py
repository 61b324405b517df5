# manual: a name the idiom binds is used after it
import psycopg


def save(conn, user_id, persona):
    row = conn.execute("SELECT id FROM avatars WHERE user_id = %s", (user_id,)).fetchone()
    if row is None:
        conn.execute("INSERT INTO avatars (user_id, persona) VALUES (%s, %s)", (user_id, persona))
    return row
