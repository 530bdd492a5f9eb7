"""Channels looked up by their signer: a wallet signing requests while the auth nonces are at their cap
passes it when it is a channel's payer or signer (``Store.has_stake``), asked on every such request.

Revision ID: 0007
Revises: 0006
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_provider_channels_signer", "provider_channels", ["signer"])


def downgrade() -> None:
    op.drop_index("ix_provider_channels_signer", table_name="provider_channels")
