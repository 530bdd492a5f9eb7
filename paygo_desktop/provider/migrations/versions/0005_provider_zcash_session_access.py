"""Zcash sessions through the gateway (issue 22): each session's own access token, kept as its hash like
the permissions' (``provider.zcash_routes``); the permission's token stays with the payer.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("provider_zcash_sessions") as batch:
        batch.add_column(sa.Column("access_hash", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("provider_zcash_sessions") as batch:
        batch.drop_column("access_hash")
