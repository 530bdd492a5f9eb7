"""Fixed-price jobs (issue 17): the job offers of the catalog and the requested jobs (``provider.job_store``).

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "provider_job_offers",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("category", sa.String(40), nullable=False),
        sa.Column("price", sa.String(40), nullable=False),
        sa.Column("asset", sa.String(12), nullable=False),
        sa.Column("delivery_seconds", sa.BigInteger, nullable=False),
        sa.Column("review_window_seconds", sa.BigInteger, nullable=False),
        sa.Column("is_active", sa.Boolean, nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "provider_jobs",
        sa.Column("id", sa.String(66), primary_key=True),
        sa.Column("offer_id", sa.String(64), nullable=False),
        sa.Column("client", sa.String(42), nullable=False),
        sa.Column("worker", sa.String(42), nullable=False),
        sa.Column("token", sa.String(42), nullable=False),
        sa.Column("price", sa.String(40), nullable=False),
        sa.Column("deadline", sa.BigInteger, nullable=False),
        sa.Column("review_window", sa.BigInteger, nullable=False),
        sa.Column("terms", sa.String(66), nullable=False),
        sa.Column("salt", sa.String(66), nullable=False),
        sa.Column("brief", sa.Text, nullable=False),
        sa.Column("requested_at", sa.BigInteger, nullable=False),
        sa.Column("accepted", sa.Boolean, nullable=False),
        sa.Column("declined", sa.Boolean, nullable=False),
        sa.Column("cancel_signature", sa.String(132), nullable=True),
        sa.Column("delivery_kind", sa.String(4), nullable=True),
        sa.Column("delivery_sha256", sa.String(66), nullable=True),
        sa.Column("delivery_file_name", sa.String(120), nullable=True),
        sa.Column("delivery_size", sa.BigInteger, nullable=True),
        sa.Column("delivery_url", sa.String(2000), nullable=True),
        sa.Column("deliver_tx", sa.String(66), nullable=True),
    )
    op.create_index("ix_provider_jobs_offer_id", "provider_jobs", ["offer_id"])
    op.create_index("ix_provider_jobs_client", "provider_jobs", ["client"])
    op.create_index("ix_provider_jobs_requested_at", "provider_jobs", ["requested_at"])


def downgrade() -> None:
    op.drop_table("provider_jobs")
    op.drop_table("provider_job_offers")
