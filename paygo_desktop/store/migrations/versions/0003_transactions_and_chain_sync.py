"""Transactions the app sent (pending ones survive a restart), the vault-event sync, and deployments.

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
        "transactions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("chain_id", sa.Integer, nullable=False),
        sa.Column("sender", sa.String(42), nullable=False),
        sa.Column("nonce", sa.Integer, nullable=False),
        sa.Column("tx_hash", sa.String(66), nullable=False, unique=True),
        sa.Column("raw_tx", sa.Text, nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("to_address", sa.String(42), nullable=True),
        sa.Column("value", sa.String(80), nullable=False),
        sa.Column("gas_limit", sa.Integer, nullable=False),
        sa.Column("max_fee_per_gas", sa.String(80), nullable=False),
        sa.Column("max_priority_fee_per_gas", sa.String(80), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("block_number", sa.Integer, nullable=True),
        sa.Column("gas_used", sa.Integer, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("replaces", sa.String(66), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_transactions_sender_nonce", "transactions", ["chain_id", "sender", "nonce"])
    op.create_index("ix_transactions_status", "transactions", ["status"])
    op.create_table(
        "sync_cursors",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("chain_id", sa.Integer, nullable=False),
        sa.Column("contract", sa.String(42), nullable=False),
        sa.Column("last_block", sa.Integer, nullable=False),
        sa.UniqueConstraint("chain_id", "contract"),
    )
    op.create_table(
        "vault_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("chain_id", sa.Integer, nullable=False),
        sa.Column("vault", sa.String(42), nullable=False),
        sa.Column("block_number", sa.Integer, nullable=False),
        sa.Column("tx_hash", sa.String(66), nullable=False),
        sa.Column("log_index", sa.Integer, nullable=False),
        sa.Column("name", sa.String(30), nullable=False),
        sa.Column("channel_id", sa.String(66), nullable=False),
        sa.Column("payer", sa.String(42), nullable=False),
        sa.Column("provider", sa.String(42), nullable=False),
        sa.Column("amount", sa.String(80), nullable=False),
        sa.Column("data", sa.Text, nullable=False),
        sa.UniqueConstraint("chain_id", "tx_hash", "log_index"),
    )
    op.create_index("ix_vault_events_channel", "vault_events", ["chain_id", "channel_id"])
    op.create_table(
        "deployments",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("network", sa.String(60), nullable=False),
        sa.Column("chain_id", sa.Integer, nullable=False),
        sa.Column("contract", sa.String(40), nullable=False),
        sa.Column("address", sa.String(42), nullable=False),
        sa.Column("tx_hash", sa.String(66), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("network", "chain_id", "contract"),
    )
    op.create_index("ix_vault_events_provider", "vault_events", ["chain_id", "provider", "name"])


def downgrade() -> None:
    op.drop_table("deployments")
    op.drop_table("vault_events")
    op.drop_table("sync_cursors")
    op.drop_index("ix_transactions_status", "transactions")
    op.drop_index("ix_transactions_sender_nonce", "transactions")
    op.drop_table("transactions")
