"""A job's release on its way (``provider.job_release_tx``): the hash and nonce of the ``release`` sent for
it and when, written before it is broadcast, so that neither the provider's rounds nor the vendor's route
send another while it may still be mined.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("provider_jobs") as batch:
        batch.add_column(sa.Column("release_tx", sa.String(66), nullable=True))
        batch.add_column(sa.Column("release_nonce", sa.BigInteger, nullable=True))
        batch.add_column(sa.Column("release_sent_at", sa.BigInteger, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("provider_jobs") as batch:
        batch.drop_column("release_sent_at")
        batch.drop_column("release_nonce")
        batch.drop_column("release_tx")
