"""tags (and a scratch table dropped later)"""
import sqlalchemy as sa
from alembic import op

revision = "c3"
down_revision = "a1"


def upgrade():
    op.create_table(
        "tags",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("label", sa.String(50), nullable=False, unique=True),
        sa.Column("slug", sa.String(50)),
    )
    op.create_index(op.f("ix_tags_slug"), "tags", ["slug"], unique=True)
    # PostgreSQL only: a covering key whose NULLs are not distinct (other databases get a plain unique index)
    op.create_index("tags_slug_covering", "tags", ["slug"], unique=True,
                    postgresql_include=["label"], postgresql_nulls_not_distinct=True)
    op.create_table("scratch", sa.Column("id", sa.Integer(), primary_key=True))
