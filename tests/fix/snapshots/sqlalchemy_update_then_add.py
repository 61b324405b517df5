from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Avatar(Base):
    __tablename__ = "orm_avatars"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(unique=True)
    persona: Mapped[str]


def save(session, user_id, persona):
    changed = session.query(Avatar).filter(Avatar.user_id == user_id).update({Avatar.persona: persona})
    if changed == 0:
        session.add(Avatar(user_id=user_id, persona=persona))
