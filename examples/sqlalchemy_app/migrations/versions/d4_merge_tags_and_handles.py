"""merge the handles and tags branches; tags become labels"""
import sqlalchemy as sa
from alembic import op

revision = "d4"
down_revision = ("b2", "c3")


def upgrade():
    op.drop_index("ix_tags_slug", table_name="tags")
    op.drop_table("scratch")
    op.rename_table("tags", "labels")
    # avatar_configurations.user_id stays without a unique key: the incident.
    with op.batch_alter_table("avatar_configurations") as batch_op:
        batch_op.alter_column("persona", nullable=False, existing_type=sa.Text())
        batch_op.add_column(sa.Column("slot", sa.Integer(), nullable=True, unique=True))


def downgrade():
    raise NotImplementedError
