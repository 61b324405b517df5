"""users: unique (tenant_id, handle), soft delete, and one live account per email"""
import sqlalchemy as sa
from alembic import op

revision = "b2"
down_revision = "a1"


def upgrade():
    with op.batch_alter_table("users") as batch_op:
        batch_op.create_unique_constraint(None, ["tenant_id", "handle"])
        batch_op.add_column(sa.Column("deleted_at", sa.DateTime(), nullable=True))
    op.create_index("users_live_email", "users", [sa.text("lower(email)")], unique=True,
                    postgresql_where=sa.text("deleted_at IS NULL"), sqlite_where=sa.text("deleted_at IS NULL"))
