"""The provider's schema as it was before migrations: catalog, channels, sessions, nonces, refused channels,
claims, the watch cursor and the Zcash tables.

Databases written before this migration (SQLite files made by ``create_all``, with or without the later
``close_deadline`` column and the ad-hoc indexes) are adopted in place: a table, column or index that
exists is kept as it is, whatever is missing is added. A new database gets all of it.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _tables() -> list[tuple[str, list[sa.Column], list[sa.Constraint]]]:
    return [
        (
            "provider_services",
            [
                sa.Column("id", sa.String(64), primary_key=True),
                sa.Column("name", sa.String(120), nullable=False),
                sa.Column("description", sa.Text, nullable=False),
                sa.Column("category", sa.String(40), nullable=False),
                sa.Column("type", sa.String(20), nullable=False),
                sa.Column("rate_amount", sa.String(40), nullable=False),
                sa.Column("rate_asset", sa.String(12), nullable=False),
                sa.Column("rate_unit", sa.String(12), nullable=False),
                sa.Column("tick_seconds", sa.Integer, nullable=False),
                sa.Column("grace_seconds", sa.Integer, nullable=False),
                sa.Column("is_active", sa.Boolean, nullable=False),
                sa.Column("deleted", sa.Boolean, nullable=False),
                sa.Column("created_at", sa.Float, nullable=False),
            ],
            [],
        ),
        (
            "provider_channels",
            [
                sa.Column("id", sa.String(66), primary_key=True),
                sa.Column("payer", sa.String(42), nullable=False),
                sa.Column("signer", sa.String(42), nullable=False),
                sa.Column("provider", sa.String(42), nullable=False),
                sa.Column("token", sa.String(42), nullable=False),
                sa.Column("withdraw_delay", sa.BigInteger, nullable=False),
                sa.Column("salt", sa.String(66), nullable=False),
                sa.Column("last_cumulative", sa.String(40), nullable=False),
                sa.Column("last_signature", sa.String(132), nullable=True),
                sa.Column("last_seq", sa.BigInteger, nullable=False),
                sa.Column("claimed_cumulative", sa.String(40), nullable=False),
                sa.Column("live_session_id", sa.String(64), nullable=True),
                sa.Column("close_deadline", sa.BigInteger, nullable=True),
            ],
            [],
        ),
        (
            "provider_sessions",
            [
                sa.Column("id", sa.String(64), primary_key=True),
                sa.Column("service_id", sa.String(64), nullable=False),
                sa.Column("channel_id", sa.String(66), nullable=False),
                sa.Column("payer", sa.String(42), nullable=False),
                sa.Column("asset", sa.String(12), nullable=False),
                sa.Column("rate_amount", sa.String(40), nullable=False),
                sa.Column("rate_unit", sa.String(12), nullable=False),
                sa.Column("tick_seconds", sa.Integer, nullable=False),
                sa.Column("grace_seconds", sa.Integer, nullable=False),
                sa.Column("status", sa.String(10), nullable=False),
                sa.Column("started_at", sa.Float, nullable=False),
                sa.Column("ended_at", sa.Float, nullable=True),
                sa.Column("served_until", sa.Float, nullable=False),
                sa.Column("start_cumulative", sa.String(40), nullable=False),
                sa.Column("cumulative", sa.String(40), nullable=False),
                sa.Column("seq", sa.BigInteger, nullable=False),
                sa.Column("access_token", sa.String(64), nullable=False, unique=True),
                sa.Column("receipt_json", sa.Text, nullable=True),
            ],
            [],
        ),
        (
            "provider_auth_nonces",
            [
                sa.Column("nonce", sa.String(64), primary_key=True),
                sa.Column("address", sa.String(42), nullable=False),
                sa.Column("expires_at", sa.BigInteger, nullable=False),
            ],
            [],
        ),
        (
            "provider_refused_channels",
            [
                sa.Column("channel_id", sa.String(66), primary_key=True),
                sa.Column("payer", sa.String(42), nullable=False),
                sa.Column("token", sa.String(42), nullable=False),
                sa.Column("cumulative", sa.String(40), nullable=False),
                sa.Column("reason", sa.String(200), nullable=False),
                sa.Column("at", sa.Float, nullable=False),
            ],
            [],
        ),
        (
            "provider_claims",
            [
                sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
                sa.Column("tx_hash", sa.String(66), nullable=False),
                sa.Column("channel_id", sa.String(66), nullable=False),
                sa.Column("cumulative", sa.String(40), nullable=False),
                sa.Column("at", sa.Float, nullable=False),
            ],
            [],
        ),
        (
            "provider_watch_cursors",
            [
                sa.Column("vault", sa.String(42), primary_key=True),
                sa.Column("next_block", sa.BigInteger, nullable=False),
            ],
            [],
        ),
        (
            "provider_zcash_permissions",
            [
                sa.Column("id", sa.String(64), primary_key=True),
                sa.Column("user_address", sa.String(1024), nullable=False),
                sa.Column("payment_address", sa.String(1024), nullable=False, unique=True),
                sa.Column("payment_uri", sa.String(4096), nullable=False),
                sa.Column("token_hash", sa.String(64), nullable=False),
                sa.Column("amount_zat", sa.String(40), nullable=False),
                sa.Column("rate_zat_per_hour", sa.String(40), nullable=False),
                sa.Column("expiry_seconds", sa.BigInteger, nullable=False),
                sa.Column("created_at", sa.BigInteger, nullable=False),
                sa.Column("status", sa.String(20), nullable=False),
                sa.Column("verification", sa.String(20), nullable=False),
                sa.Column("received_zat", sa.String(40), nullable=False),
                sa.Column("confirmations", sa.Integer, nullable=False),
                sa.Column("used_seconds", sa.BigInteger, nullable=False),
                sa.Column("activated_at", sa.BigInteger, nullable=True),
                sa.Column("ended_at", sa.BigInteger, nullable=True),
                sa.Column("live_session_id", sa.String(64), nullable=True),
            ],
            [],
        ),
        (
            "provider_zcash_sessions",
            [
                sa.Column("id", sa.String(64), primary_key=True),
                sa.Column("permission_id", sa.String(64), nullable=False),
                sa.Column("service_id", sa.String(64), nullable=False),
                sa.Column("status", sa.String(12), nullable=False),
                sa.Column("started_at", sa.BigInteger, nullable=False),
                sa.Column("ends_at", sa.BigInteger, nullable=False),
                sa.Column("ended_at", sa.BigInteger, nullable=True),
                sa.Column("seconds", sa.BigInteger, nullable=False),
                sa.Column("amount_zat", sa.String(40), nullable=False),
            ],
            [],
        ),
        (
            "provider_zcash_credited_notes",
            [
                sa.Column("txid", sa.String(64), primary_key=True),
                sa.Column("pool", sa.String(16), primary_key=True),
                sa.Column("output_index", sa.Integer, primary_key=True, autoincrement=False),
                sa.Column("permission_id", sa.String(64), nullable=False),
                sa.Column("address", sa.String(1024), nullable=False),
                sa.Column("amount_zat", sa.String(40), nullable=False),
                sa.Column("confirmations", sa.Integer, nullable=False),
                sa.Column("matched_by", sa.String(8), nullable=False),
                sa.Column("credited_at", sa.BigInteger, nullable=False),
            ],
            [],
        ),
        (
            "provider_zcash_ledger",
            [
                sa.Column("network", sa.String(10), primary_key=True),
                sa.Column("height", sa.BigInteger, nullable=False),
            ],
            [],
        ),
        (
            "provider_zcash_ledger_outputs",
            [
                sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
                sa.Column("network", sa.String(10), nullable=False),
                sa.Column("txid", sa.String(64), nullable=False),
                sa.Column("output_index", sa.Integer, nullable=False),
                sa.Column("pool", sa.String(16), nullable=False),
                sa.Column("address", sa.String(1024), nullable=False),
                sa.Column("amount_zat", sa.String(40), nullable=False),
                sa.Column("memo", sa.Text, nullable=True),
                sa.Column("memo_permission", sa.String(128), nullable=True),
                sa.Column("height", sa.BigInteger, nullable=True),
            ],
            [sa.UniqueConstraint("txid", "output_index")],
        ),
    ]


# (index name, table, columns): what ``index=True`` made, under SQLAlchemy's names
_INDEXES = [
    ("ix_provider_services_category", "provider_services", ["category"]),
    ("ix_provider_channels_payer", "provider_channels", ["payer"]),
    ("ix_provider_sessions_channel_id", "provider_sessions", ["channel_id"]),
    ("ix_provider_sessions_payer", "provider_sessions", ["payer"]),
    ("ix_provider_sessions_status", "provider_sessions", ["status"]),
    ("ix_provider_sessions_started_at", "provider_sessions", ["started_at"]),
    ("ix_provider_auth_nonces_address", "provider_auth_nonces", ["address"]),
    ("ix_provider_auth_nonces_expires_at", "provider_auth_nonces", ["expires_at"]),
    ("ix_provider_claims_channel_id", "provider_claims", ["channel_id"]),
    ("ix_provider_zcash_permissions_user_address", "provider_zcash_permissions", ["user_address"]),
    ("ix_provider_zcash_permissions_created_at", "provider_zcash_permissions", ["created_at"]),
    ("ix_provider_zcash_permissions_status", "provider_zcash_permissions", ["status"]),
    ("ix_provider_zcash_sessions_permission_id", "provider_zcash_sessions", ["permission_id"]),
    ("ix_provider_zcash_sessions_status", "provider_zcash_sessions", ["status"]),
    ("ix_provider_zcash_credited_notes_permission_id", "provider_zcash_credited_notes", ["permission_id"]),
    ("ix_provider_zcash_ledger_outputs_txid", "provider_zcash_ledger_outputs", ["txid"]),
    ("ix_provider_zcash_ledger_outputs_address", "provider_zcash_ledger_outputs", ["address"]),
    (
        "ix_provider_zcash_ledger_outputs_memo_permission",
        "provider_zcash_ledger_outputs",
        ["memo_permission"],
    ),
    ("ix_provider_zcash_ledger_outputs_height", "provider_zcash_ledger_outputs", ["height"]),
]


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    existing = set(inspector.get_table_names())
    for name, columns, constraints in _tables():
        if name not in existing:
            op.create_table(name, *columns, *constraints)
            continue
        have = {c["name"] for c in inspector.get_columns(name)}
        for column in columns:  # a column added to the models after the table was made (all nullable)
            if column.name not in have:
                op.add_column(name, column)
    for index, table, indexed in _INDEXES:
        op.create_index(index, table, indexed, if_not_exists=True)
    # an expression index (the expiry sweep's): written out, as SQLite's reflection cannot see it
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_provider_sessions_due "
        "ON provider_sessions (status, (served_until + grace_seconds))"
    )


def downgrade() -> None:
    op.drop_index("ix_provider_sessions_due", "provider_sessions")
    for index, table, _columns in reversed(_INDEXES):
        op.drop_index(index, table)
    for name, _columns, _constraints in reversed(_tables()):
        op.drop_table(name)
