"""destinations beyond HTTP (credentials sealed), batching and FIFO webhooks

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 16:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhooks") as batch_op:
        batch_op.add_column(sa.Column("url_sealed", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("batch", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("ordering", sa.String(8), nullable=True))
        batch_op.add_column(
            sa.Column("fifo_on_failure", sa.String(8), server_default="skip", nullable=False)
        )
        batch_op.drop_column("fifo")  # never used: `ordering` says it now
    with op.batch_alter_table("deliveries") as batch_op:
        batch_op.add_column(sa.Column("batch_id", sa.String(40), nullable=True))
        batch_op.add_column(
            sa.Column("ordered", sa.Boolean(), server_default=sa.text("false"), nullable=False)
        )
        batch_op.create_index(
            "ix_deliveries_waiting",
            ["webhook_id", "id"],
            unique=False,
            sqlite_where=sa.text("status = 'pending' AND batch_id IS NULL"),
            postgresql_where=sa.text("status = 'pending' AND batch_id IS NULL"),
        )
        batch_op.create_index(
            "ix_deliveries_batch",
            ["batch_id"],
            unique=False,
            sqlite_where=sa.text("batch_id IS NOT NULL"),
            postgresql_where=sa.text("batch_id IS NOT NULL"),
        )
        # Due means due and unordered: FIFO deliveries waiting behind their head stay out.
        batch_op.drop_index(
            "ix_deliveries_due",
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        )
        batch_op.create_index(
            "ix_deliveries_due",
            ["next_attempt_at"],
            unique=False,
            sqlite_where=sa.text("status = 'pending' AND ordered = 0"),
            postgresql_where=sa.text("status = 'pending' AND NOT ordered"),
        )
        for name, status in (
            ("ix_deliveries_fifo", "pending"),
            ("ix_deliveries_fifo_failed", "failed"),
        ):
            batch_op.create_index(
                name,
                ["webhook_id", "id"],
                unique=False,
                sqlite_where=sa.text(f"status = '{status}' AND ordered = 1"),
                postgresql_where=sa.text(f"status = '{status}' AND ordered"),
            )
    with op.batch_alter_table("webhooks") as batch_op:
        batch_op.create_index(
            "ix_webhooks_fifo",
            ["id"],
            unique=False,
            sqlite_where=sa.text("ordering = 'fifo'"),
            postgresql_where=sa.text("ordering = 'fifo'"),
        )


def downgrade() -> None:
    with op.batch_alter_table("webhooks") as batch_op:
        batch_op.drop_index("ix_webhooks_fifo")
    with op.batch_alter_table("deliveries") as batch_op:
        batch_op.drop_index("ix_deliveries_batch")
        batch_op.drop_index("ix_deliveries_waiting")
        batch_op.drop_index("ix_deliveries_fifo_failed")
        batch_op.drop_index("ix_deliveries_fifo")
        batch_op.drop_index("ix_deliveries_due")
        batch_op.create_index(
            "ix_deliveries_due",
            ["next_attempt_at"],
            unique=False,
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        )
        batch_op.drop_column("ordered")
        batch_op.drop_column("batch_id")
    with op.batch_alter_table("webhooks") as batch_op:
        batch_op.add_column(
            sa.Column("fifo", sa.Boolean(), server_default=sa.text("false"), nullable=False)
        )
        batch_op.drop_column("fifo_on_failure")
        batch_op.drop_column("ordering")
        batch_op.drop_column("batch")
        batch_op.drop_column("url_sealed")
