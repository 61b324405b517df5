# manual: the update sets a column to another value than the insert
import psycopg


def save(conn, user_id, persona):
    cur = conn.cursor()
    cur.execute("SELECT id FROM avatars WHERE user_id = %s", (user_id,))
    if cur.fetchone() is None:
        cur.execute("INSERT INTO avatars (user_id, persona) VALUES (%s, %s)", (user_id, persona))
    else:
        cur.execute("UPDATE avatars SET persona = %s WHERE user_id = %s", (persona.upper(), user_id))
