"""The models the code is written against. They declare a unique key on
avatar_configurations.user_id that no migration creates: upsert-audit reports the drift."""

from datetime import datetime
from typing import Optional

import sqlalchemy as sa
from sqlalchemy import ForeignKey, Index, MetaData, String, Text, UniqueConstraint, func, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {"uq": "uq_%(table_name)s_%(column_0_name)s", "ix": "ix_%(column_0_label)s"}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("email", name="users_email_key"),
        UniqueConstraint("tenant_id", "nickname"),
        Index("users_live_email", func.lower(text("email")), unique=True,
              postgresql_where=text("deleted_at IS NULL"), sqlite_where=text("deleted_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(200))
    nickname: Mapped[Optional[str]] = mapped_column(String(40))
    tenant_id: Mapped[int]
    deleted_at: Mapped[Optional[datetime]]


class AvatarConfiguration(Base):
    __tablename__ = "avatar_configurations"
    __table_args__ = (UniqueConstraint("user_id"),)  # the key the code relies on; never migrated

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    persona: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[Optional[datetime]]
    slot: Mapped[Optional[int]] = mapped_column(unique=True)


class Label(Base):
    __tablename__ = "labels"
    __table_args__ = (
        Index("tags_slug_covering", "slug", unique=True, postgresql_include=["label"], postgresql_nulls_not_distinct=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(String(50), unique=True)
    slug: Mapped[Optional[str]] = mapped_column(String(50))


class Preference(Base):
    __tablename__ = "prefs"
    __table_args__ = (sa.PrimaryKeyConstraint("user_id", "key", name="prefs_pk"),)

    user_id: Mapped[int]
    key: Mapped[str] = mapped_column(String(40))
    value: Mapped[Optional[str]] = mapped_column(Text)
