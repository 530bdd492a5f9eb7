"""The providers registered in PayGoRegistry, folded from its events (its sync cursor is a sync_cursors row).

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "registry_entries",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("chain_id", sa.Integer, nullable=False),
        sa.Column("contract", sa.String(42), nullable=False),
        sa.Column("provider", sa.String(42), nullable=False),
        sa.Column("signing_key", sa.String(42), nullable=False),
        sa.Column("catalog_url", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("block_number", sa.Integer, nullable=False),
        sa.Column("log_index", sa.Integer, nullable=False),
        sa.UniqueConstraint("chain_id", "contract", "provider"),
    )


def downgrade() -> None:
    op.drop_table("registry_entries")
