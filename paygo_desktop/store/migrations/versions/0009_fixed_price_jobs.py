"""The fixed-price jobs this app requested (issue 17): their PayGoJobs terms, brief and downloaded delivery.

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
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(66), primary_key=True),
        sa.Column("chain_id", sa.Integer, nullable=False),
        sa.Column("contract", sa.String(42), nullable=False),
        sa.Column("client", sa.String(42), nullable=False),
        sa.Column("worker", sa.String(42), nullable=False),
        sa.Column("token", sa.String(42), nullable=False),
        sa.Column("asset_symbol", sa.String(12), nullable=False),
        sa.Column("asset_decimals", sa.Integer, nullable=False),
        sa.Column("price", sa.String(40), nullable=False),
        sa.Column("deadline", sa.Integer, nullable=False),
        sa.Column("review_window", sa.Integer, nullable=False),
        sa.Column("terms", sa.String(66), nullable=False),
        sa.Column("salt", sa.String(66), nullable=False),
        sa.Column("provider_url", sa.Text, nullable=False),
        sa.Column("provider_name", sa.Text, nullable=False),
        sa.Column("offer_id", sa.String(64), nullable=False),
        sa.Column("offer_name", sa.Text, nullable=False),
        sa.Column("brief", sa.Text, nullable=False),
        sa.Column("cancel_signature", sa.String(132), nullable=True),
        sa.Column("download_path", sa.Text, nullable=True),
        sa.Column("download_sha256", sa.String(66), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_jobs_client", "jobs", ["client"])


def downgrade() -> None:
    op.drop_index("ix_jobs_client", table_name="jobs")
    op.drop_table("jobs")
