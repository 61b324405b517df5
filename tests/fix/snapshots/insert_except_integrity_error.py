import pymysql


def save(conn, user_id, persona):
    with conn.cursor() as cur:
        try:
            cur.execute("INSERT INTO avatars (user_id, persona) VALUES (%(user)s, %(persona)s)", {"user": user_id, "persona": persona})
        except pymysql.IntegrityError:
            cur.execute("UPDATE avatars SET persona = %(persona)s WHERE user_id = %(user)s", {"user": user_id, "persona": persona})
    conn.commit()
