"""an index of finished deliveries by when they finished (the dashboard's charts)

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
        ["finished_at"],
        sqlite_where=sa.text("finished_at IS NOT NULL"),
        postgresql_where=sa.text("finished_at IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_deliveries_finished", table_name="deliveries")
