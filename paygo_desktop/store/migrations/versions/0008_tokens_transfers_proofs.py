"""Money in context: tokens added by address, every transfer of an account (and its own transactions' fees),
price feed readings, the provider record, and what a session's proof file needs (quote, key, channel).

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
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("quote", sa.Text, nullable=True))
        batch.add_column(sa.Column("signing_key", sa.String(42), nullable=True))
        batch.add_column(sa.Column("channel", sa.Text, nullable=True))
    op.create_table(
        "custom_tokens",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("network", sa.String(60), nullable=False),
        sa.Column("chain_id", sa.Integer, nullable=False),
        sa.Column("address", sa.String(42), nullable=False),
        sa.Column("symbol", sa.String(20), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("decimals", sa.Integer, nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("network", "chain_id", "address"),
    )
    op.create_table(
        "transfers",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("chain_id", sa.Integer, nullable=False),
        sa.Column("account", sa.String(42), nullable=False),
        sa.Column("tx_hash", sa.String(66), nullable=False),
        sa.Column("log_index", sa.Integer, nullable=False),
        sa.Column("block_number", sa.Integer, nullable=False),
        sa.Column("block_time", sa.Integer, nullable=False),
        sa.Column("token", sa.String(42), nullable=True),
        sa.Column("sender", sa.String(42), nullable=False),
        sa.Column("recipient", sa.String(42), nullable=False),
        sa.Column("amount", sa.String(80), nullable=False),
        sa.UniqueConstraint("chain_id", "account", "tx_hash", "log_index"),
    )
    op.create_index("ix_transfers_account_block", "transfers", ["chain_id", "account", "block_number"])
    op.create_table(
        "account_txs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("chain_id", sa.Integer, nullable=False),
        sa.Column("account", sa.String(42), nullable=False),
        sa.Column("tx_hash", sa.String(66), nullable=False),
        sa.Column("block_number", sa.Integer, nullable=False),
        sa.Column("block_time", sa.Integer, nullable=False),
        sa.Column("to_address", sa.String(42), nullable=True),
        sa.Column("fee", sa.String(80), nullable=False),
        sa.Column("succeeded", sa.Boolean, nullable=False),
        sa.UniqueConstraint("chain_id", "account", "tx_hash"),
    )
    op.create_table(
        "transfer_cursors",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("chain_id", sa.Integer, nullable=False),
        sa.Column("account", sa.String(42), nullable=False),
        sa.Column("start_block", sa.Integer, nullable=False),
        sa.Column("last_block", sa.Integer, nullable=False),
        sa.Column("native", sa.Boolean, nullable=False),
        sa.UniqueConstraint("chain_id", "account"),
    )
    op.create_table(
        "feed_readings",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("chain_id", sa.Integer, nullable=False),
        sa.Column("feed", sa.String(42), nullable=False),
        sa.Column("block_number", sa.Integer, nullable=False),
        sa.Column("answer", sa.String(80), nullable=True),
        sa.Column("decimals", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.Integer, nullable=False),
        sa.Column("round_id", sa.String(40), nullable=False),
        sa.UniqueConstraint("chain_id", "feed", "block_number"),
    )
    op.create_table(
        "provider_notes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("provider_key", sa.String(200), nullable=False),
        sa.Column("provider_url", sa.Text, nullable=False),
        sa.Column("provider_name", sa.String(200), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("ref", sa.String(100), nullable=False),
        sa.Column("verdict", sa.String(20), nullable=False),
        sa.Column("asset_symbol", sa.String(20), nullable=True),
        sa.Column("decimals", sa.Integer, nullable=True),
        sa.Column("meter_amount", sa.String(80), nullable=True),
        sa.Column("provider_amount", sa.String(80), nullable=True),
        sa.Column("detail", sa.Text, nullable=False),
        sa.UniqueConstraint("source", "ref", "verdict"),
    )
    op.create_index("ix_provider_notes_provider", "provider_notes", ["provider_key"])


def downgrade() -> None:
    op.drop_index("ix_provider_notes_provider", "provider_notes")
    for table in ("provider_notes", "feed_readings", "transfer_cursors", "account_txs"):
        op.drop_table(table)
    op.drop_index("ix_transfers_account_block", "transfers")
    op.drop_table("transfers")
    op.drop_table("custom_tokens")
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("channel")
        batch.drop_column("signing_key")
        batch.drop_column("quote")
