"""The provider's worker processes: each one's heartbeat, the horizon of the vouchers it still holds, its
queueing delay and whether it sheds new sessions (``provider.load``).

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "provider_workers",
        sa.Column("id", sa.String(80), primary_key=True),
        sa.Column("started_at", sa.Float, nullable=False),
        sa.Column("heartbeat_at", sa.Float, nullable=False),
        sa.Column("horizon_at", sa.Float, nullable=False),
        sa.Column("delay", sa.Float, nullable=False),
        sa.Column("shedding", sa.Boolean, nullable=False),
        sa.Column("leader", sa.Boolean, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("provider_workers")
