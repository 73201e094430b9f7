"""indexes for the dashboard: deliveries by when they finished, attempts by when they were made

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 07:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_deliveries_finished",
        "deliveries",
        ["finished_at", "webhook_id", "tenant_id", "status"],
        sqlite_where=sa.text("finished_at IS NOT NULL"),
        postgresql_where=sa.text("finished_at IS NOT NULL"),
    )
    op.create_index("ix_attempts_created_at", "attempts", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_attempts_created_at", table_name="attempts")
    op.drop_index("ix_deliveries_finished", table_name="deliveries")
