from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column


class Base(DeclarativeBase):
    pass


class Avatar(Base):
    __tablename__ = "orm_avatars"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(unique=True)
    persona: Mapped[str]


def save(session: Session, user_id: int, persona: str) -> None:
    avatar = session.query(Avatar).filter_by(user_id=user_id).one_or_none()
    if avatar is None:
        session.add(Avatar(user_id=user_id, persona=persona))
    else:
        avatar.persona = persona
    session.commit()
