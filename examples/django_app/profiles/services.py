"""How the app saves profiles: three shapes of upsert, one of them the incident."""

from django.db import connection

from profiles.models import AvatarConfiguration, Preference

SAVE_AVATAR = (
    "INSERT INTO profiles_avatarconfiguration (account_id, persona, settings, updated_at) "
    "VALUES (%s, %s, %s, now()) "
    "ON CONFLICT (account_id) DO UPDATE SET persona = EXCLUDED.persona, settings = EXCLUDED.settings"
)


def save_avatar(account_id: int, persona: str, settings: str) -> None:
    """Fails on every call: nothing makes account_id unique in profiles_avatarconfiguration."""
    with connection.cursor() as cursor:
        cursor.execute(SAVE_AVATAR, [account_id, persona, settings])


def save_avatar_orm(account, persona: str) -> None:
    """Racy: two requests can both create a row (no unique key backs the lookup)."""
    AvatarConfiguration.objects.update_or_create(account=account, defaults={"persona": persona})


def save_preferences(account, values: dict) -> None:
    """Fine: (account, key) is unique_together."""
    Preference.objects.bulk_create(
        [Preference(account=account, key=k, value=v) for k, v in values.items()],
        update_conflicts=True, unique_fields=["account", "key"], update_fields=["value"],
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO profiles_preference (account_id, key, value) VALUES (%s, %s, %s) "
            "ON CONFLICT (account_id, key) DO UPDATE SET value = EXCLUDED.value",
            [account.pk, "last_seen", "now"],
        )
