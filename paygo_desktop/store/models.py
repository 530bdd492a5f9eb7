"""Tables of the local store. Only public data lives here: no key, mnemonic or password, ever."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Boolean, DateTime, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class AccountRow(Base):
    """An account of the wallet: its address and how it came to be. The key is in its keystore file."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    address: Mapped[str] = mapped_column(String(42), unique=True, nullable=False)
    label: Mapped[str] = mapped_column(String(100), nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)  # hd | private_key | keystore
    hd_index: Mapped[int | None] = mapped_column(Integer, nullable=True)
    keystore_file: Mapped[str] = mapped_column(String(200), nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)


class NetworkRow(Base):
    """A custom network the user added (the built-in ones live in code)."""

    __tablename__ = "networks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(60), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    chain_id: Mapped[int] = mapped_column(Integer, nullable=False)
    rpc_url: Mapped[str] = mapped_column(Text, nullable=False)
    explorer_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    vault_address: Mapped[str | None] = mapped_column(String(42), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)


class ActivityRow(Base):
    """One line of the activity log: what happened, when, to which account on which network."""

    __tablename__ = "activity"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow, index=True)
    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    message: Mapped[str] = mapped_column(Text, nullable=False)
    account: Mapped[str | None] = mapped_column(String(42), nullable=True)
    network: Mapped[str | None] = mapped_column(String(60), nullable=True)
    is_error: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class TransactionRow(Base):
    """A transaction the app signed and sent. The raw signed bytes are public; they let it rebroadcast."""

    __tablename__ = "transactions"

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
    __table_args__ = (UniqueConstraint("chain_id", "tx_hash", "log_index"),)

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
