"""Storage layer: every write the service makes."""

import logging

from psycopg.types.json import Jsonb

from avatar_app.queries import GET_AVATAR_CONFIGURATION, SAVE_AVATAR_CONFIGURATION

log = logging.getLogger(__name__)


class Storage:
    def __init__(self, conn):
        self.conn = conn

    def save_avatar_configuration(self, user_id: int, persona: str, settings: dict) -> None:
        """Save the user's persona: INSERT ... ON CONFLICT (user_id) DO UPDATE."""
        with self.conn.cursor() as cur:
            cur.execute(
                SAVE_AVATAR_CONFIGURATION,
                {"user_id": user_id, "persona": persona, "settings": Jsonb(settings)},
            )
        log.info("INSERT INTO avatar_configurations ... ON CONFLICT (user_id) for user %s", user_id)

    def get_avatar_configuration(self, user_id: int):
        with self.conn.cursor() as cur:
            cur.execute(GET_AVATAR_CONFIGURATION, (user_id,))
            return cur.fetchone()

    def set_preference(self, user_id: int, key: str, value: str) -> None:
        # Correct: (user_id, key) is the primary key.
        self.conn.execute(
            """
            INSERT INTO user_preferences (user_id, key, value)
            VALUES (%s, %s, %s)
            ON CONFLICT (key, user_id) DO UPDATE
                SET value = EXCLUDED.value, updated_at = now()
            """,
            (user_id, key, value),
        )

    def register_user(self, email: str, display_name: str) -> None:
        # Correct: the unique index is on lower(email), and the target says so.
        self.conn.execute(
            "INSERT INTO users (email, display_name) VALUES (%s, %s) "
            "ON CONFLICT (lower(email)) DO NOTHING",
            (email, display_name),
        )

    def issue_token(self, user_id: int, token_hash: str) -> None:
        # Correct: the partial unique index is targeted with its own predicate.
        self.conn.execute(
            "INSERT INTO api_tokens (user_id, token_hash) VALUES (%s, %s) "
            "ON CONFLICT (user_id) WHERE revoked_at IS NULL "
            "DO UPDATE SET token_hash = EXCLUDED.token_hash",
            (user_id, token_hash),
        )

    def revoke_tokens(self, user_id: int) -> None:
        self.conn.execute(
            "UPDATE api_tokens SET revoked_at = now() WHERE user_id = %s AND revoked_at IS NULL",
            (user_id,),
        )
