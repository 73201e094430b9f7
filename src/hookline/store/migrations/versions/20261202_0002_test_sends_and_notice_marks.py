"""test sends are marked; notices remember when they were sent

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events") as batch_op:
        batch_op.add_column(
            sa.Column("test", sa.Boolean(), server_default=sa.text("false"), nullable=False)
        )
    with op.batch_alter_table("webhooks") as batch_op:
        batch_op.add_column(sa.Column("recovered_notice_at", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("disabled_notice_at", sa.BigInteger(), nullable=True))
    # Test sends stored before this revision: the events whose delivery was a test send.
    op.execute(
        "UPDATE events SET test = true WHERE id IN "
        "(SELECT event_id FROM deliveries WHERE trigger = 'test')"
    )


def downgrade() -> None:
    with op.batch_alter_table("webhooks") as batch_op:
        batch_op.drop_column("disabled_notice_at")
        batch_op.drop_column("recovered_notice_at")
    with op.batch_alter_table("events") as batch_op:
        batch_op.drop_column("test")
