"""Job requests not funded are bounded (``provider.jobs``): each job row says whether it was seen funded on
chain, so stale requests can be dropped and a client's open ones counted without reading every job again.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("provider_jobs") as batch:
        batch.add_column(sa.Column("funded", sa.Boolean, nullable=False, server_default=sa.false()))
    op.create_index("ix_provider_jobs_funded", "provider_jobs", ["funded", "requested_at"])


def downgrade() -> None:
    op.drop_index("ix_provider_jobs_funded", "provider_jobs")
    with op.batch_alter_table("provider_jobs") as batch:
        batch.drop_column("funded")
