"""SQL used by the storage layer, kept in one place."""

AVATAR_TABLE = "avatar_configurations"

# The incident: avatar_configurations has no unique key on user_id.
SAVE_AVATAR_CONFIGURATION = (
    f"INSERT INTO {AVATAR_TABLE} (user_id, persona, settings, updated_at) "
    "VALUES (%(user_id)s, %(persona)s, %(settings)s, now()) "
    "ON CONFLICT (user_id) DO UPDATE "
    "SET persona = EXCLUDED.persona, settings = EXCLUDED.settings, updated_at = now()"
)

GET_AVATAR_CONFIGURATION = f"SELECT persona, settings FROM {AVATAR_TABLE} WHERE user_id = %s"
