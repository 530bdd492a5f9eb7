"""What the app sent to chains and read from them: its transactions, the contracts it deployed or was told
about, the vault's events with the sync's cursors, price feeds' past rounds."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from paygo_desktop.store.models.base import Base, utcnow


class TransactionRow(Base):
    """A transaction the app signed and sent. The raw signed bytes are public; they let it rebroadcast."""

    __tablename__ = "transactions"
    __table_args__ = (
        Index("ix_transactions_sender_nonce", "chain_id", "sender", "nonce"),
        Index("ix_transactions_status", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chain_id: Mapped[int] = mapped_column(Integer, nullable=False)
    sender: Mapped[str] = mapped_column(String(42), nullable=False)
    nonce: Mapped[int] = mapped_column(Integer, nullable=False)
    tx_hash: Mapped[str] = mapped_column(String(66), unique=True, nullable=False)
    raw_tx: Mapped[str] = mapped_column(Text, nullable=False)
    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False)
    to_address: Mapped[str | None] = mapped_column(String(42), nullable=True)
    value: Mapped[str] = mapped_column(String(80), nullable=False)  # wei, as a decimal string
    gas_limit: Mapped[int] = mapped_column(Integer, nullable=False)
    max_fee_per_gas: Mapped[str] = mapped_column(String(80), nullable=False)
    max_priority_fee_per_gas: Mapped[str] = mapped_column(String(80), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    block_number: Mapped[int | None] = mapped_column(Integer, nullable=True)
    gas_used: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    replaces: Mapped[str | None] = mapped_column(String(66), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)


class DeploymentRow(Base):
    """A contract this app deployed or was told about, per network: where the vault (or test USDC) lives."""

    __tablename__ = "deployments"
    __table_args__ = (UniqueConstraint("network", "chain_id", "contract"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    network: Mapped[str] = mapped_column(String(60), nullable=False)
    chain_id: Mapped[int] = mapped_column(Integer, nullable=False)
    contract: Mapped[str] = mapped_column(String(40), nullable=False)
    address: Mapped[str] = mapped_column(String(42), nullable=False)
    tx_hash: Mapped[str | None] = mapped_column(String(66), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)


class SyncCursorRow(Base):
    """How far the event sync has read a contract's logs on a chain."""

    __tablename__ = "sync_cursors"
    __table_args__ = (UniqueConstraint("chain_id", "contract"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chain_id: Mapped[int] = mapped_column(Integer, nullable=False)
    contract: Mapped[str] = mapped_column(String(42), nullable=False)
    last_block: Mapped[int] = mapped_column(Integer, nullable=False)


class VaultEventRow(Base):
    """A PayGoVault event as read from the chain; the chain is the truth, this is its local index."""

    __tablename__ = "vault_events"
    __table_args__ = (
        UniqueConstraint("chain_id", "tx_hash", "log_index"),
        Index("ix_vault_events_channel", "chain_id", "channel_id"),
        Index("ix_vault_events_provider", "chain_id", "provider", "name"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chain_id: Mapped[int] = mapped_column(Integer, nullable=False)
    vault: Mapped[str] = mapped_column(String(42), nullable=False)
    block_number: Mapped[int] = mapped_column(Integer, nullable=False)
    tx_hash: Mapped[str] = mapped_column(String(66), nullable=False)
    log_index: Mapped[int] = mapped_column(Integer, nullable=False)
    name: Mapped[str] = mapped_column(String(30), nullable=False)
    channel_id: Mapped[str] = mapped_column(String(66), nullable=False)
    payer: Mapped[str] = mapped_column(String(42), nullable=False)
    provider: Mapped[str] = mapped_column(String(42), nullable=False)
    amount: Mapped[str] = mapped_column(String(80), nullable=False)
    data: Mapped[str] = mapped_column(Text, nullable=False)  # the event's other fields, JSON


class FeedReadingRow(Base):
    """A price feed's round as it stood at a block (what ``prices.history`` found): read once, kept."""

    __tablename__ = "feed_readings"
    __table_args__ = (UniqueConstraint("chain_id", "feed", "block_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chain_id: Mapped[int] = mapped_column(Integer, nullable=False)
    feed: Mapped[str] = mapped_column(String(42), nullable=False)
    block_number: Mapped[int] = mapped_column(Integer, nullable=False)
    answer: Mapped[str | None] = mapped_column(String(80), nullable=True)  # None: no round then
    decimals: Mapped[int] = mapped_column(Integer, nullable=False)
    updated_at: Mapped[int] = mapped_column(Integer, nullable=False)
    round_id: Mapped[str] = mapped_column(String(40), nullable=False)
