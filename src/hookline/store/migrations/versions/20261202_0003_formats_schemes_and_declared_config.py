"""formats, signature schemes, per-webhook policy, declared configuration; event type groups
and examples

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhooks") as batch_op:
        batch_op.add_column(sa.Column("template", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("signature", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("retry_schedule", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("timeout", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("managed_by", sa.String(16), nullable=True))
        batch_op.add_column(sa.Column("managed_key", sa.String(512), nullable=True))
    # An index, not a constraint: SQLite adds it without copying the table.
    op.create_index("ix_webhooks_managed_key", "webhooks", ["managed_key"], unique=True)
    with op.batch_alter_table("event_types") as batch_op:
        batch_op.add_column(sa.Column("group", sa.String(128), nullable=True))
        batch_op.add_column(sa.Column("examples", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("managed_by", sa.String(16), nullable=True))
    with op.batch_alter_table("tenants") as batch_op:
        batch_op.add_column(sa.Column("managed_by", sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tenants") as batch_op:
        batch_op.drop_column("managed_by")
    with op.batch_alter_table("event_types") as batch_op:
        batch_op.drop_column("managed_by")
        batch_op.drop_column("examples")
        batch_op.drop_column("group")
    op.drop_index("ix_webhooks_managed_key", table_name="webhooks")
    with op.batch_alter_table("webhooks") as batch_op:
        batch_op.drop_column("managed_key")
        batch_op.drop_column("managed_by")
        batch_op.drop_column("timeout")
        batch_op.drop_column("retry_schedule")
        batch_op.drop_column("signature")
        batch_op.drop_column("template")
