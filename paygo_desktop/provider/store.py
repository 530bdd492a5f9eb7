"""The provider's own SQLite database (SQLAlchemy): catalog, channels, sessions, auth nonces, claims, the
channels whose signatures the vault refused, and the block cursor of the vault-event watch (so a restarted
provider looks back at the blocks it missed).

Tables are created on first start. Amounts are stored as decimal strings (uint128 does not fit SQLite
integers). The chain escrow stays the truth; this database only remembers what the provider was given.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Boolean, Float, Integer, String, Text, create_engine, delete, event, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from paygo_desktop.chain.vouchers import Channel


class Base(DeclarativeBase):
    pass


class ServiceRow(Base):
    __tablename__ = "provider_services"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(40), index=True)
    type: Mapped[str] = mapped_column(String(20))
    rate_amount: Mapped[str] = mapped_column(String(40))
    rate_asset: Mapped[str] = mapped_column(String(12))
    rate_unit: Mapped[str] = mapped_column(String(12))
    tick_seconds: Mapped[int] = mapped_column(Integer)
    grace_seconds: Mapped[int] = mapped_column(Integer)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[float] = mapped_column(Float)


class ChannelRow(Base):
    __tablename__ = "provider_channels"
    id: Mapped[str] = mapped_column(String(66), primary_key=True)
    payer: Mapped[str] = mapped_column(String(42), index=True)
    signer: Mapped[str] = mapped_column(String(42))
    provider: Mapped[str] = mapped_column(String(42))
    token: Mapped[str] = mapped_column(String(42))
    withdraw_delay: Mapped[int] = mapped_column(Integer)
    salt: Mapped[str] = mapped_column(String(66))
    last_cumulative: Mapped[str] = mapped_column(String(40), default="0")
    last_signature: Mapped[str | None] = mapped_column(String(132), nullable=True)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    claimed_cumulative: Mapped[str] = mapped_column(String(40), default="0")
    live_session_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # the deadline of the last Close signed for the channel: no session starts before it has passed
    close_deadline: Mapped[int | None] = mapped_column(Integer, nullable=True)


def channel_of(row: ChannelRow | Any) -> Channel:
    """The ``Channel`` a ``ChannelRow`` (or a selected row of its columns) stands for."""
    return Channel(
        payer=row.payer,
        signer=row.signer,
        provider=row.provider,
        token=row.token,
        withdraw_delay=row.withdraw_delay,
        salt=bytes.fromhex(row.salt[2:]),
    )


class SessionRow(Base):
    __tablename__ = "provider_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    service_id: Mapped[str] = mapped_column(String(64))
    channel_id: Mapped[str] = mapped_column(String(66), index=True)
    payer: Mapped[str] = mapped_column(String(42), index=True)
    asset: Mapped[str] = mapped_column(String(12))
    rate_amount: Mapped[str] = mapped_column(String(40))
    rate_unit: Mapped[str] = mapped_column(String(12))
    tick_seconds: Mapped[int] = mapped_column(Integer)
    grace_seconds: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10), index=True)
    started_at: Mapped[float] = mapped_column(Float, index=True)
    ended_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    served_until: Mapped[float] = mapped_column(Float)
    start_cumulative: Mapped[str] = mapped_column(String(40))
    cumulative: Mapped[str] = mapped_column(String(40))
    seq: Mapped[int] = mapped_column(Integer, default=0)
    access_token: Mapped[str] = mapped_column(String(64), unique=True)
    receipt_json: Mapped[str | None] = mapped_column(Text, nullable=True)


class NonceRow(Base):
    __tablename__ = "provider_auth_nonces"
    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    address: Mapped[str] = mapped_column(String(42), index=True)
    expires_at: Mapped[int] = mapped_column(Integer, index=True)


class RefusedChannelRow(Base):
    """A channel whose voucher signature the vault refused when the claimer simulated its claim: its
    sessions are refused from then on, and the vendor is told (``GET /vendor/vouchers``)."""

    __tablename__ = "provider_refused_channels"
    channel_id: Mapped[str] = mapped_column(String(66), primary_key=True)
    payer: Mapped[str] = mapped_column(String(42))
    token: Mapped[str] = mapped_column(String(42))
    cumulative: Mapped[str] = mapped_column(String(40))  # the voucher the vault refused
    reason: Mapped[str] = mapped_column(String(200))
    at: Mapped[float] = mapped_column(Float)


class ClaimRow(Base):
    __tablename__ = "provider_claims"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tx_hash: Mapped[str] = mapped_column(String(66))
    channel_id: Mapped[str] = mapped_column(String(66), index=True)
    cumulative: Mapped[str] = mapped_column(String(40))
    at: Mapped[float] = mapped_column(Float)


class WatchCursorRow(Base):
    """The next block the claimer's vault-event watch reads, per vault."""

    __tablename__ = "provider_watch_cursors"
    vault: Mapped[str] = mapped_column(String(42), primary_key=True)
    next_block: Mapped[int] = mapped_column(Integer)


class Store:
    """Thread-safe (one lock) access to the provider database."""

    def __init__(self, path: Path | str) -> None:
        url = "sqlite://" if str(path) == ":memory:" else f"sqlite:///{Path(path)}"
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.engine = create_engine(url, connect_args={"check_same_thread": False})

        @event.listens_for(self.engine, "connect")
        def _pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            # WAL + NORMAL: no fsync per commit (only at checkpoints); a power cut may lose the last
            # commits but never corrupts the database. The chain escrow stays the truth.
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=5000")
            cur.close()

        Base.metadata.create_all(self.engine)
        with self.engine.begin() as conn:  # also on databases created before this index or column existed
            conn.exec_driver_sql(
                "CREATE INDEX IF NOT EXISTS ix_provider_sessions_due "
                "ON provider_sessions (status, served_until + grace_seconds)"
            )
            conn.exec_driver_sql(
                "CREATE INDEX IF NOT EXISTS ix_provider_auth_nonces_address ON provider_auth_nonces (address)"
            )
            columns = {row[1] for row in conn.exec_driver_sql("PRAGMA table_info(provider_channels)")}
            if "close_deadline" not in columns:
                conn.exec_driver_sql("ALTER TABLE provider_channels ADD COLUMN close_deadline INTEGER")
        self._factory = sessionmaker(self.engine, expire_on_commit=False)
        self._lock = threading.RLock()

    @contextmanager
    def tx(self) -> Iterator[Session]:
        with self._lock, self._factory() as db, db.begin():
            yield db

    def use_nonce(
        self,
        nonce: str,
        address: str,
        expires_at: int,
        now: int,
        *,
        per_address: int | None = None,
        total: int | None = None,
    ) -> Literal["ok", "reused", "busy"]:
        """Record ``nonce``: "reused" if it was used before, "busy" if ``address`` already holds
        ``per_address`` unexpired nonces or the table ``total`` (None: no limit), else "ok".

        Expired nonces are deleted first: a message past its expiration time is refused anyway, so the table
        only holds the messages still usable, at most one per request of the last ``max_lifetime``."""
        with self.tx() as db:
            db.execute(delete(NonceRow).where(NonceRow.expires_at <= now))
            if db.get(NonceRow, nonce) is not None:
                return "reused"
            if per_address is not None:
                held = db.scalar(select(func.count()).where(NonceRow.address == address)) or 0
                if held >= per_address:
                    return "busy"
            if total is not None and (db.scalar(select(func.count()).select_from(NonceRow)) or 0) >= total:
                return "busy"
            db.add(NonceRow(nonce=nonce, address=address, expires_at=expires_at))
            return "ok"

    def refuse_channel(self, channel: Channel, cumulative: int, reason: str, at: float) -> bool:
        """Mark a channel refused (its sessions too); False if it already was."""
        channel_id = "0x" + channel.id.hex()
        with self.tx() as db:
            if db.get(RefusedChannelRow, channel_id) is not None:
                return False
            db.add(
                RefusedChannelRow(
                    channel_id=channel_id,
                    payer=channel.payer,
                    token=channel.token,
                    cumulative=str(cumulative),
                    reason=reason[:200],
                    at=at,
                )
            )
            return True

    def refused_channels(self, limit: int = 100) -> list[RefusedChannelRow]:
        with self.tx() as db:
            return list(
                db.scalars(select(RefusedChannelRow).order_by(RefusedChannelRow.at.desc()).limit(limit))
            )

    def refused_ids(self) -> set[str]:
        with self.tx() as db:
            return set(db.scalars(select(RefusedChannelRow.channel_id)))

    def watch_cursor(self, vault: str) -> int | None:
        """The next block to read for ``vault``'s events, or None if this database never watched it."""
        with self.tx() as db:
            row = db.get(WatchCursorRow, vault)
            return None if row is None else row.next_block

    def save_watch_cursor(self, vault: str, next_block: int) -> None:
        with self.tx() as db:
            row = db.get(WatchCursorRow, vault)
            if row is None:
                db.add(WatchCursorRow(vault=vault, next_block=next_block))
            else:
                row.next_block = next_block

    def count_services(self) -> int:
        with self.tx() as db:
            return len(db.scalars(select(ServiceRow.id)).all())

    def close(self) -> None:
        self.engine.dispose()
