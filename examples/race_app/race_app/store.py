"""Every save here reads, then decides to insert or update: each one races."""

import psycopg


class Store:
    def __init__(self, conn: psycopg.Connection):
        self.conn = conn  # autocommit: each statement commits on its own

    def set_notification(self, user_id: int, channel: str, setting: str) -> None:
        with self.conn.cursor() as cur:
            cur.execute("SELECT setting FROM notification_settings WHERE user_id = %s AND channel = %s", (user_id, channel))
            if cur.fetchone() is None:
                cur.execute(
                    "INSERT INTO notification_settings (user_id, channel, setting) VALUES (%s, %s, %s)",
                    (user_id, channel, setting),
                )
            else:
                cur.execute(
                    "UPDATE notification_settings SET setting = %s WHERE user_id = %s AND channel = %s",
                    (setting, user_id, channel),
                )

    def count_visit(self, page: str) -> None:
        # The update adds to the stored value: not the same write as the insert, so the
        # codemod leaves it for a person (ON CONFLICT ... SET hits = page_counters.hits + 1).
        cur = self.conn.execute("UPDATE page_counters SET hits = hits + 1 WHERE page = %s", (page,))
        if cur.rowcount == 0:
            self.conn.execute("INSERT INTO page_counters (page, hits) VALUES (%s, 1)", (page,))

    def save_profile(self, email: str, nickname: str) -> None:
        try:
            self.conn.execute("INSERT INTO profiles (email, nickname) VALUES (%s, %s)", (email, nickname))
        except psycopg.errors.UniqueViolation:
            self.conn.execute("UPDATE profiles SET nickname = %s WHERE email = %s", (nickname, email))

    def set_favourite_colour(self, user_id: int, colour: str) -> None:
        self.conn.execute("DELETE FROM favourite_colours WHERE user_id = %s", (user_id,))
        self.conn.execute("INSERT INTO favourite_colours (user_id, colour) VALUES (%s, %s)", (user_id, colour))
