"""Tables of the Zcash spending permissions, in the provider's database (same engine as provider.store):
the permissions, their sessions, the notes credited to them (provider.zcash_credit), and the local ledger
the sandbox and tests pay them on (provider.zcash_ledger).

Amounts are decimal strings of zatoshi; times integer Unix seconds. The tables are made by the provider's
migrations (provider/schema.py), like the others.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class ZcashBase(DeclarativeBase):
    pass


class ZcashPermissionRow(ZcashBase):
    __tablename__ = "provider_zcash_permissions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_address: Mapped[str] = mapped_column(String(1024), index=True)
    payment_address: Mapped[str] = mapped_column(String(1024), unique=True)
    payment_uri: Mapped[str] = mapped_column(String(4096))
    token_hash: Mapped[str] = mapped_column(String(64))
    amount_zat: Mapped[str] = mapped_column(String(40))
    rate_zat_per_hour: Mapped[str] = mapped_column(String(40))
    expiry_seconds: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[int] = mapped_column(BigInteger, index=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    verification: Mapped[str] = mapped_column(String(20), default="awaiting_payment")
    received_zat: Mapped[str] = mapped_column(String(40), default="0")
    confirmations: Mapped[int] = mapped_column(Integer, default=0)
    used_seconds: Mapped[int] = mapped_column(BigInteger, default=0)
    activated_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    ended_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    live_session_id: Mapped[str | None] = mapped_column(String(64), nullable=True)


class ZcashSessionRow(ZcashBase):
    __tablename__ = "provider_zcash_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    permission_id: Mapped[str] = mapped_column(String(64), index=True)
    service_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12), index=True)
    started_at: Mapped[int] = mapped_column(BigInteger)
    ends_at: Mapped[int] = mapped_column(BigInteger)
    ended_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    seconds: Mapped[int] = mapped_column(BigInteger, default=0)
    amount_zat: Mapped[str] = mapped_column(String(40), default="0")
    # the hash of the session's own access token (the gateway's key; None: sessions from before 0005)
    access_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)


class ZcashCreditedNoteRow(ZcashBase):
    """A received note credited to one permission, once (see provider.zcash_credit).

    The primary key is the note's identity: its transaction, its pool (a transaction's Sapling outputs and
    Orchard actions are numbered separately) and its output index. ``matched_by`` says which part of the
    crediting rule gave it to the permission: ``address`` or ``memo``."""

    __tablename__ = "provider_zcash_credited_notes"
    txid: Mapped[str] = mapped_column(String(64), primary_key=True)
    pool: Mapped[str] = mapped_column(String(16), primary_key=True)
    output_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    permission_id: Mapped[str] = mapped_column(String(64), index=True)
    address: Mapped[str] = mapped_column(String(1024))
    amount_zat: Mapped[str] = mapped_column(String(40))
    confirmations: Mapped[int] = mapped_column(Integer, default=0)
    matched_by: Mapped[str] = mapped_column(String(8))
    credited_at: Mapped[int] = mapped_column(BigInteger)


class ZcashLedgerRow(ZcashBase):
    """The local ledger's chain height, one row per Zcash network."""

    __tablename__ = "provider_zcash_ledger"
    network: Mapped[str] = mapped_column(String(10), primary_key=True)
    height: Mapped[int] = mapped_column(BigInteger, default=0)


class ZcashLedgerOutputRow(ZcashBase):
    """One output of a payment made on the local ledger (a transaction may have several, numbered from 0);
    ``height`` None while it is in the mempool. (Older databases kept one output per transaction in
    ``provider_zcash_ledger_txs``; the sandbox starts a new database with each chain, so it is not read.)"""

    __tablename__ = "provider_zcash_ledger_outputs"
    __table_args__ = (UniqueConstraint("txid", "output_index"),)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    network: Mapped[str] = mapped_column(String(10))
    txid: Mapped[str] = mapped_column(String(64), index=True)
    output_index: Mapped[int] = mapped_column(Integer)
    pool: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(1024), index=True)
    amount_zat: Mapped[str] = mapped_column(String(40))
    memo: Mapped[str | None] = mapped_column(Text, nullable=True)
    memo_permission: Mapped[str | None] = mapped_column(String(128), nullable=True, index=True)
    height: Mapped[int | None] = mapped_column(BigInteger, nullable=True, index=True)
