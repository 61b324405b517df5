"""users and avatar configurations"""
import sqlalchemy as sa
from alembic import op

revision = "a1"
down_revision = None


def upgrade():
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("email", sa.String(200), nullable=False),
        sa.Column("handle", sa.String(40)),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.UniqueConstraint("email", name="users_email_key"),
    )
    op.create_table(
        "avatar_configurations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("persona", sa.Text()),
        sa.Column("updated_at", sa.DateTime()),
    )


def downgrade():
    op.drop_table("avatar_configurations")
    op.drop_table("users")
