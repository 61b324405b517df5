"""user preferences, keyed by (user_id, key); handle becomes nickname"""
import sqlalchemy as sa
from alembic import op

revision = "e5"
down_revision = "d4"


def upgrade():
    op.create_table(
        "prefs",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(40), nullable=False),
        sa.Column("value", sa.Text()),
    )
    with op.batch_alter_table("prefs") as batch_op:
        batch_op.create_primary_key("prefs_pk", ["user_id", "key"])
    with op.batch_alter_table("users") as batch_op:
        batch_op.alter_column("handle", new_column_name="nickname")
