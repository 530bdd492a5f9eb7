"""The wallet's own records: its accounts, the networks and tokens the user added, the activity log, the
notices already shown."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from paygo_desktop.store.models.base import Base, utcnow


class AccountRow(Base):
    """An account of the wallet: its address and how it came to be. The key is in its keystore file."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    address: Mapped[str] = mapped_column(String(42), unique=True, nullable=False)
    label: Mapped[str] = mapped_column(String(100), nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)  # hd | private_key | keystore
    hd_index: Mapped[int | None] = mapped_column(Integer, nullable=True)
    keystore_file: Mapped[str] = mapped_column(String(200), nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
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


class CustomTokenRow(Base):
    """A token the user added by its address on a network (symbol and decimals as its contract said, once
    the user confirmed them); the built-in ones live in ``token_list``."""

    __tablename__ = "custom_tokens"
    __table_args__ = (UniqueConstraint("network", "chain_id", "address"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    network: Mapped[str] = mapped_column(String(60), nullable=False)
    chain_id: Mapped[int] = mapped_column(Integer, nullable=False)
    address: Mapped[str] = mapped_column(String(42), nullable=False)
    symbol: Mapped[str] = mapped_column(String(20), nullable=False)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    decimals: Mapped[int] = mapped_column(Integer, nullable=False)
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)


class ActivityRow(Base):
    """One line of the activity log: what happened, when, to which account on which network."""

    __tablename__ = "activity"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow, index=True)
    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    message: Mapped[str] = mapped_column(Text, nullable=False)
    account: Mapped[str | None] = mapped_column(String(42), nullable=True)
    network: Mapped[str | None] = mapped_column(String(60), nullable=True)
    is_error: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=false())


class NoticeRow(Base):
    """A notification already shown (a renewal reminder, a low-hours warning), so it is shown once."""

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True, nullable=False)
    shown_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)
