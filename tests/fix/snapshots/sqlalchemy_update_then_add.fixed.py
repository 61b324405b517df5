from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from auditor.upsert import upsert_record


class Base(DeclarativeBase):
    pass


class Avatar(Base):
    __tablename__ = "orm_avatars"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(unique=True)
    persona: Mapped[str]


def save(session, user_id, persona):
    upsert_record(session, Avatar, {"user_id": user_id, "persona": persona}, conflict=["user_id"], update=["persona"])
