"""x402 (issue 16): per-site spending policies and the payments this app signed.

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
    op.create_table(
        "x402_policies",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("origin", sa.String(300), nullable=False, unique=True),
        sa.Column("allowed", sa.Boolean, nullable=False),
        sa.Column("ask_first", sa.Boolean, nullable=False),
        sa.Column("chain_id", sa.Integer, nullable=False),
        sa.Column("asset", sa.String(42), nullable=False),
        sa.Column("asset_symbol", sa.String(20), nullable=False),
        sa.Column("decimals", sa.Integer, nullable=False),
        sa.Column("max_per_request", sa.String(80), nullable=True),
        sa.Column("max_per_day", sa.String(80), nullable=True),
        sa.Column("max_total", sa.String(80), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "x402_payments",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("origin", sa.String(300), nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("method", sa.String(10), nullable=False),
        sa.Column("scheme", sa.String(30), nullable=False),
        sa.Column("network", sa.String(60), nullable=False),
        sa.Column("payer", sa.String(42), nullable=False),
        sa.Column("pay_to", sa.String(42), nullable=False),
        sa.Column("asset", sa.String(42), nullable=False),
        sa.Column("asset_symbol", sa.String(20), nullable=False),
        sa.Column("decimals", sa.Integer, nullable=False),
        sa.Column("amount", sa.String(80), nullable=False),
        sa.Column("nonce", sa.String(66), nullable=False),
        sa.Column("valid_before", sa.Integer, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("tx_hash", sa.String(66), nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_x402_payments_created_at", "x402_payments", ["created_at"])
    op.create_index("ix_x402_payments_origin", "x402_payments", ["origin"])


def downgrade() -> None:
    op.drop_index("ix_x402_payments_origin", table_name="x402_payments")
    op.drop_index("ix_x402_payments_created_at", table_name="x402_payments")
    op.drop_table("x402_payments")
    op.drop_table("x402_policies")
