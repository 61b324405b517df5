"""The storage layer: saves go through upserts."""

from datetime import datetime, timezone

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app.models import AvatarConfiguration, Preference

SAVE_AVATAR = text(
    "INSERT INTO avatar_configurations (user_id, persona, updated_at) VALUES (:user_id, :persona, :now) "
    "ON CONFLICT (user_id) DO UPDATE SET persona = EXCLUDED.persona, updated_at = EXCLUDED.updated_at"
)


def save_avatar(session: Session, user_id: int, persona: str) -> None:
    """Fails on every call: avatar_configurations has no unique key on user_id."""
    session.execute(SAVE_AVATAR, {"user_id": user_id, "persona": persona, "now": datetime.now(timezone.utc)})


def save_avatar_orm(session: Session, user_id: int, persona: str) -> None:
    """The same upsert through SQLAlchemy's PostgreSQL insert()."""
    statement = insert(AvatarConfiguration).values(user_id=user_id, persona=persona)
    session.execute(statement.on_conflict_do_update(index_elements=["user_id"], set_={"persona": persona}))


def save_preference(session: Session, user_id: int, key: str, value: str) -> None:
    """Fine: (user_id, key) is the primary key."""
    session.execute(
        text("INSERT INTO prefs (user_id, key, value) VALUES (:u, :k, :v) ON CONFLICT (user_id, key) DO UPDATE SET value = EXCLUDED.value"),
        {"u": user_id, "k": key, "v": value},
    )
    statement = insert(Preference).values(user_id=user_id, key=key, value=value)
    session.execute(statement.on_conflict_do_nothing(index_elements=["user_id", "key"]))
