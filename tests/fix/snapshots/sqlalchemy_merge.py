from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Avatar(Base):
    __tablename__ = "orm_avatars"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(unique=True)
    persona: Mapped[str]


def save(session, user_id, persona):
    # merge() finds rows by id only: this always inserts
    session.merge(Avatar(user_id=user_id, persona=persona))
    session.commit()
