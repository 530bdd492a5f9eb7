"""Every on-chain movement of an account (``history/``): its transfers, the transactions it sent with their
fees, and how far each account's history has been read."""

from __future__ import annotations

from sqlalchemy import Boolean, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from paygo_desktop.store.models.base import Base


class TransferRow(Base):
    """One movement of money into or out of an account, as the chain shows it: an ERC-20 Transfer event
    (``log_index`` >= 0) or native coin moved by a transaction or inside one (``log_index`` < 0: -1 - its
    place among the transaction's value transfers). ``token`` None: the native coin."""

    __tablename__ = "transfers"
    __table_args__ = (
        UniqueConstraint("chain_id", "account", "tx_hash", "log_index"),
        Index("ix_transfers_account_block", "chain_id", "account", "block_number"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chain_id: Mapped[int] = mapped_column(Integer, nullable=False)
    account: Mapped[str] = mapped_column(String(42), nullable=False)
    tx_hash: Mapped[str] = mapped_column(String(66), nullable=False)
    log_index: Mapped[int] = mapped_column(Integer, nullable=False)
    block_number: Mapped[int] = mapped_column(Integer, nullable=False)
    block_time: Mapped[int] = mapped_column(Integer, nullable=False)  # Unix seconds, the block's timestamp
    token: Mapped[str | None] = mapped_column(String(42), nullable=True)
    sender: Mapped[str] = mapped_column(String(42), nullable=False)
    recipient: Mapped[str] = mapped_column(String(42), nullable=False)
    amount: Mapped[str] = mapped_column(String(80), nullable=False)  # base units, a decimal string


class AccountTxRow(Base):
    """A transaction the account itself sent, with the fee it paid (gas, plus an L2's L1 data fee)."""

    __tablename__ = "account_txs"
    __table_args__ = (UniqueConstraint("chain_id", "account", "tx_hash"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chain_id: Mapped[int] = mapped_column(Integer, nullable=False)
    account: Mapped[str] = mapped_column(String(42), nullable=False)
    tx_hash: Mapped[str] = mapped_column(String(66), nullable=False)
    block_number: Mapped[int] = mapped_column(Integer, nullable=False)
    block_time: Mapped[int] = mapped_column(Integer, nullable=False)
    to_address: Mapped[str | None] = mapped_column(String(42), nullable=True)
    fee: Mapped[str] = mapped_column(String(80), nullable=False)  # wei, a decimal string
    succeeded: Mapped[bool] = mapped_column(Boolean, nullable=False)


class TransferCursorRow(Base):
    """How far the transfer history of an account has been read on a chain, from where, and whether the
    node lists native coin movements (trace_filter) or only token events."""

    __tablename__ = "transfer_cursors"
    __table_args__ = (UniqueConstraint("chain_id", "account"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chain_id: Mapped[int] = mapped_column(Integer, nullable=False)
    account: Mapped[str] = mapped_column(String(42), nullable=False)
    start_block: Mapped[int] = mapped_column(Integer, nullable=False)
    last_block: Mapped[int] = mapped_column(Integer, nullable=False)
    native: Mapped[bool] = mapped_column(Boolean, nullable=False)
