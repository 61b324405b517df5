# manual: the branch that inserts does more than the insert
import logging

import psycopg

log = logging.getLogger(__name__)


def save(conn, user_id, persona):
    cur = conn.cursor()
    cur.execute("UPDATE avatars SET persona = %s WHERE user_id = %s", (persona, user_id))
    if cur.rowcount == 0:
        log.info("new avatar for %s", user_id)
        cur.execute("INSERT INTO avatars (user_id, persona) VALUES (%s, %s)", (user_id, persona))
