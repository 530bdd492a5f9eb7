"""The provider releases its delivered jobs by itself (``provider.job_release``): each job row says whether
nothing is left to release (the chain paid its price out, or its deadline passed with nothing delivered),
so a round reads only the jobs that may still be released, not every job ever delivered.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("provider_jobs") as batch:
        batch.add_column(sa.Column("settled", sa.Boolean, nullable=False, server_default=sa.false()))
    op.create_index("ix_provider_jobs_settled", "provider_jobs", ["settled"])


def downgrade() -> None:
    op.drop_index("ix_provider_jobs_settled", "provider_jobs")
    with op.batch_alter_table("provider_jobs") as batch:
        batch.drop_column("settled")
