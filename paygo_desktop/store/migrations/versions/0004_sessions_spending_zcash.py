"""Metered sessions and their vouchers, spending records for the charts, Zcash permissions, notices.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sessions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("local_id", sa.String(36), nullable=False, unique=True),
        sa.Column("remote_id", sa.String(100), nullable=True),
        sa.Column("account", sa.String(42), nullable=False),
        sa.Column("network", sa.String(60), nullable=False),
        sa.Column("chain_id", sa.Integer, nullable=True),
        sa.Column("funding", sa.String(10), nullable=False),
        sa.Column("channel_id", sa.String(66), nullable=True),
        sa.Column("zcash_permission_id", sa.String(100), nullable=True),
        sa.Column("provider_url", sa.Text, nullable=False),
        sa.Column("provider_name", sa.String(200), nullable=False),
        sa.Column("provider_address", sa.String(42), nullable=True),
        sa.Column("service_id", sa.String(100), nullable=False),
        sa.Column("service_name", sa.String(200), nullable=False),
        sa.Column("category", sa.String(100), nullable=False),
        sa.Column("service_type", sa.String(20), nullable=False),
        sa.Column("asset_symbol", sa.String(20), nullable=False),
        sa.Column("asset_address", sa.String(42), nullable=True),
        sa.Column("decimals", sa.Integer, nullable=False),
        sa.Column("rate_amount", sa.String(80), nullable=False),
        sa.Column("rate_unit", sa.String(20), nullable=False),
        sa.Column("tick_seconds", sa.Integer, nullable=False),
        sa.Column("grace_seconds", sa.Integer, nullable=False),
        sa.Column("budget", sa.String(80), nullable=False),
        sa.Column("channel_base", sa.String(80), nullable=False),
        sa.Column("signed", sa.String(80), nullable=False),
        sa.Column("acked", sa.String(80), nullable=False),
        sa.Column("cost", sa.String(80), nullable=False),
        sa.Column("seconds", sa.Integer, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("stop_reason", sa.Text, nullable=True),
        sa.Column("receipt", sa.Text, nullable=True),
        sa.Column("receipt_ok", sa.Boolean, nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_sessions_remote_id", "sessions", ["remote_id"])
    op.create_index("ix_sessions_channel_id", "sessions", ["channel_id"])
    op.create_index("ix_sessions_status", "sessions", ["status"])
    op.create_table(
        "session_vouchers",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("session_id", sa.Integer, sa.ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False),
        sa.Column("channel_id", sa.String(66), nullable=True),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("cumulative", sa.String(80), nullable=False),
        sa.Column("signature", sa.String(140), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acked_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("session_id", "seq"),
    )
    op.create_index("ix_session_vouchers_channel_id", "session_vouchers", ["channel_id"])
    op.create_table(
        "spending",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("session_id", sa.Integer, sa.ForeignKey("sessions.id", ondelete="SET NULL"), nullable=True),
        sa.Column("account", sa.String(42), nullable=False),
        sa.Column("network", sa.String(60), nullable=False),
        sa.Column("funding", sa.String(10), nullable=False),
        sa.Column("asset_key", sa.String(120), nullable=False),
        sa.Column("asset_symbol", sa.String(20), nullable=False),
        sa.Column("decimals", sa.Integer, nullable=False),
        sa.Column("provider_url", sa.Text, nullable=False),
        sa.Column("provider_name", sa.String(200), nullable=False),
        sa.Column("service_id", sa.String(100), nullable=False),
        sa.Column("service_name", sa.String(200), nullable=False),
        sa.Column("category", sa.String(100), nullable=False),
        sa.Column("amount_giga", sa.Integer, nullable=False),
        sa.Column("amount_rem", sa.Integer, nullable=False),
    )
    op.create_index("ix_spending_at", "spending", ["at"])
    op.create_index("ix_spending_asset_at", "spending", ["asset_key", "at", "amount_giga", "amount_rem"])
    op.create_table(
        "zcash_permissions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("provider_url", sa.Text, nullable=False),
        sa.Column("provider_name", sa.String(200), nullable=False),
        sa.Column("permission_id", sa.String(100), nullable=False),
        sa.Column("account", sa.String(42), nullable=False),
        sa.Column("user_address", sa.Text, nullable=True),
        sa.Column("pay_address", sa.Text, nullable=False),
        sa.Column("payment_uri", sa.Text, nullable=False),
        sa.Column("amount_zat", sa.Integer, nullable=False),
        sa.Column("rate_per_hour_zat", sa.Integer, nullable=False),
        sa.Column("used_seconds", sa.Integer, nullable=False),
        sa.Column("deducted_zat", sa.Integer, nullable=False),
        sa.Column("metered_zat", sa.Integer, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("verification", sa.String(20), nullable=True),
        sa.Column("confirmations", sa.Integer, nullable=False),
        sa.Column("token_sealed", sa.Text, nullable=True),
        sa.Column("allow_fallback", sa.Boolean, nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("provider_url", "permission_id"),
    )
    op.create_table(
        "notices",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", sa.String(200), nullable=False, unique=True),
        sa.Column("shown_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("notices")
    op.drop_table("zcash_permissions")
    op.drop_index("ix_spending_asset_at", "spending")
    op.drop_index("ix_spending_at", "spending")
    op.drop_table("spending")
    op.drop_index("ix_session_vouchers_channel_id", "session_vouchers")
    op.drop_table("session_vouchers")
    op.drop_index("ix_sessions_status", "sessions")
    op.drop_index("ix_sessions_channel_id", "sessions")
    op.drop_index("ix_sessions_remote_id", "sessions")
    op.drop_table("sessions")
