# manual: the insert is not a branch of an if statement
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Avatar(Base):
    __tablename__ = "orm_avatars"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(unique=True)
    persona: Mapped[str]


def save(session, user_id, persona):
    avatar = session.query(Avatar).filter_by(user_id=user_id).first()
    if avatar:
        avatar.persona = persona
        return avatar
    session.add(Avatar(user_id=user_id, persona=persona))
