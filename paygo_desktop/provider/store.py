"""The provider's own database (SQLAlchemy): catalog, channels, sessions, auth nonces, claims, the channels
whose signatures the vault refused, the block cursor of the vault-event watch (so a restarted provider
looks back at the blocks it missed) and the heartbeats of the provider's worker processes.

One SQLite file (the default: the sandbox and small vendors, one process) or a PostgreSQL database
(``postgresql://…``: several worker processes, on one host or several). The schema is made and upgraded by
the provider's own Alembic migrations (``provider/schema.py``), the same ones on both; a SQLite database
written before the migrations existed is upgraded in place.

Amounts are stored as decimal strings (uint128 does not fit SQLite integers). The chain escrow stays the
truth; this database only remembers what the provider was given.

Concurrency. Every transaction that changes a channel or its sessions first takes the channel's lock
(``lock``): on PostgreSQL a transaction-scoped advisory lock, so the workers serialise one channel's
start, vouchers, stop, close and expiry in the database, never in process memory. On SQLite the provider
is one process, and every transaction runs whole, without awaiting, under the store's thread lock:
nothing else can run in between, so ``lock`` has nothing to do.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import (
    BigInteger,
    Boolean,
    Connection,
    Float,
    Index,
    Integer,
    String,
    Text,
    create_engine,
    delete,
    event,
    func,
    or_,
    select,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from paygo_desktop.chain.vouchers import Channel
from paygo_desktop.errors import UserFacingError
from paygo_desktop.provider.job_store import JobRow


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
    # set by the vendor through the service routes (provider.service_upstreams); the config's wins
    upstream_url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    upstream_delivery: Mapped[str | None] = mapped_column(String(16), nullable=True)


class ChannelRow(Base):
    __tablename__ = "provider_channels"
    id: Mapped[str] = mapped_column(String(66), primary_key=True)
    payer: Mapped[str] = mapped_column(String(42), index=True)
    signer: Mapped[str] = mapped_column(String(42), index=True)  # indexed: Store.has_stake (migration 0006)
    provider: Mapped[str] = mapped_column(String(42))
    token: Mapped[str] = mapped_column(String(42))
    withdraw_delay: Mapped[int] = mapped_column(BigInteger)
    salt: Mapped[str] = mapped_column(String(66))
    last_cumulative: Mapped[str] = mapped_column(String(40), default="0")
    last_signature: Mapped[str | None] = mapped_column(String(132), nullable=True)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    claimed_cumulative: Mapped[str] = mapped_column(String(40), default="0")
    live_session_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # the deadline of the last Close signed for the channel: no session starts before it has passed
    close_deadline: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


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
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    access_token: Mapped[str] = mapped_column(String(64), unique=True)
    receipt_json: Mapped[str | None] = mapped_column(Text, nullable=True)
    # milliseconds of service the final voucher did not pay for, forgiven (session_ending._settle)
    forgiven_ms: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


# the expiry sweep reads only the live sessions that are due
Index("ix_provider_sessions_due", SessionRow.status, SessionRow.served_until + SessionRow.grace_seconds)


class NonceRow(Base):
    __tablename__ = "provider_auth_nonces"
    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    address: Mapped[str] = mapped_column(String(42), index=True)
    expires_at: Mapped[int] = mapped_column(BigInteger, index=True)


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
    next_block: Mapped[int] = mapped_column(BigInteger)


class WorkerRow(Base):
    """One worker process of the provider, as it last reported itself (``provider.load``): the expiry
    sweep reads every live worker's horizon, and ``/health`` how many workers shed new sessions."""

    __tablename__ = "provider_workers"
    id: Mapped[str] = mapped_column(String(80), primary_key=True)  # host:pid:start
    started_at: Mapped[float] = mapped_column(Float)
    heartbeat_at: Mapped[float] = mapped_column(Float)  # real time (Unix seconds)
    # no voucher or stop this worker holds unanswered arrived before this (real time)
    horizon_at: Mapped[float] = mapped_column(Float)
    delay: Mapped[float] = mapped_column(Float, default=0.0)  # its queueing delay now, seconds
    shedding: Mapped[bool] = mapped_column(Boolean, default=False)
    leader: Mapped[bool] = mapped_column(Boolean, default=False)


class DatabaseError(UserFacingError):
    """The provider's database setting names no database this provider can use."""


Dialect = Literal["sqlite", "postgresql"]


def database_url(database: str | Path) -> str:
    """The SQLAlchemy URL of a ``database`` setting: a SQLite file path (or ``:memory:``), a
    ``sqlite:///`` URL or a ``postgresql://`` URL (served through psycopg 3)."""
    value = str(database)
    if value == ":memory:":
        return "sqlite://"
    if "://" not in value:
        return f"sqlite:///{Path(value)}"
    try:
        url = make_url(value)
    except ArgumentError:
        raise DatabaseError("the database URL cannot be parsed") from None
    driver = url.drivername
    if driver in ("postgresql", "postgres", "postgresql+psycopg"):
        _need_psycopg()
        return url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    if driver == "sqlite":
        return value
    raise DatabaseError(f"unsupported database {driver!r}: give a SQLite file path or a postgresql:// URL")


def _need_psycopg() -> None:
    """PostgreSQL is served through psycopg 3, which the provider's install has (``pip install
    'paygo-desktop[provider]'``, requirements-provider.lock) and the desktop app's bundle leaves out."""
    import importlib.util

    try:
        present = importlib.util.find_spec("psycopg") is not None
    except (ImportError, ValueError):  # ValueError: a module entry set to None, Python's "not there"
        present = False
    if not present:
        raise DatabaseError(
            "PostgreSQL needs psycopg, which this installation does not have (the desktop app's installer "
            "runs the provider on SQLite only): give a SQLite file, or run the provider from its server "
            "install (docs/vendor-deployment.md)"
        )


def shown_url(database: str | Path) -> str:
    """A database setting as it may be logged: the password hidden."""
    value = str(database)
    if "://" not in value:
        return value
    try:
        return make_url(value).render_as_string(hide_password=True)
    except ArgumentError:
        return "(unparsable URL)"


def lock_key(name: str) -> int:
    """The signed 32-bit key of a named lock (a channel id, a permission id...)."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=4).digest(), "big", signed=True)


LOCK_SPACE = 0x50475931  # "PGY1": the first key of the two-key advisory locks taken by ``Store.lock``
_NAMED = re.compile(r"(?<![:\w]):([a-z_]+)")  # a ``:name`` parameter


class HotTx:
    """One short transaction straight through the database driver (``Store.hot_tx``): its first read has
    been answered (``row``); ``write`` queues statements that run, with the commit, when the block ends.
    SQL is written once with ``:name`` parameters."""

    def __init__(self, row: tuple[Any, ...] | None) -> None:
        self.row = row
        self.writes: list[tuple[str, dict[str, Any]]] = []

    def write(self, statement: str, params: dict[str, Any]) -> None:
        self.writes.append((statement, params))


_SAFE_TEXT = re.compile(r"[0-9A-Za-z_\-]*")


def _literal(value: Any) -> str:
    """A SQL literal for the hot path's values only: integers, finite floats, None and strings of
    ``[0-9A-Za-z_-]`` (ids, hex); anything else is refused, so nothing can end a quoted string."""
    if isinstance(value, bool):
        raise ValueError("no booleans on the hot path")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        return repr(value)
    if value is None:
        return "NULL"
    if isinstance(value, str) and _SAFE_TEXT.fullmatch(value):
        return f"'{value}'"
    raise ValueError(f"not a hot-path SQL value: {type(value).__name__}")


def _inline(statement: str, params: dict[str, Any]) -> str:
    return _NAMED.sub(lambda m: _literal(params[m.group(1)]), statement)


class Store:
    """Access to the provider database. Thread-safe on SQLite (one lock); on PostgreSQL each transaction
    has its own pooled connection."""

    def __init__(self, database: str | Path, *, migrate: bool = True, pool_size: int = 5) -> None:
        self.url = database_url(database)
        self.shown = shown_url(database)
        self.dialect: Dialect = "postgresql" if self.url.startswith("postgresql") else "sqlite"
        if self.dialect == "sqlite":
            if self.url not in ("sqlite://", "sqlite:///:memory:"):
                target = make_url(self.url).database
                if target:
                    Path(target).parent.mkdir(parents=True, exist_ok=True)
            self.engine = create_engine(self.url, connect_args={"check_same_thread": False})
            event.listen(self.engine, "connect", _sqlite_pragmas)
            self._lock: Any = threading.RLock()
        else:
            # no pre-ping: a round trip before every transaction; a connection the server dropped fails
            # one request and is replaced (SQLAlchemy invalidates it), and none lives past pool_recycle
            self.engine = create_engine(
                self.url, pool_size=pool_size, max_overflow=pool_size, pool_recycle=1800
            )
            event.listen(self.engine, "connect", _postgres_session)
            self._lock = contextlib.nullcontext()
        if migrate:
            self._upgrade()
        self._factory = sessionmaker(self.engine, expire_on_commit=False)

    def _upgrade(self) -> None:
        """The schema to the newest revision, in one transaction: PostgreSQL's DDL is transactional; a SQLite
        file is upgraded through ``store.sqlite_upgrades`` so that it is too (an in-memory one has nothing
        to lose, and another connection would be another database)."""
        from paygo_desktop.provider.schema import NewerSchema, upgrade
        from paygo_desktop.store.sqlite_upgrades import BrokenReference, upgrading_engine

        in_memory = self.url in ("sqlite://", "sqlite:///:memory:")
        engine = self.engine if self.is_postgres or in_memory else upgrading_engine(self.url)
        try:
            upgrade(engine, postgres=self.is_postgres, shown=self.shown)
        except (NewerSchema, BrokenReference) as exc:
            raise DatabaseError(str(exc)) from None
        except SQLAlchemyError as exc:  # a migration failed: rolled back whole
            reason = str(getattr(exc, "orig", None) or exc).splitlines()[0][:200]
            raise DatabaseError(
                f"upgrading the provider database {self.shown} failed ({reason}); it was left as it is"
            ) from None
        finally:
            if engine is not self.engine:
                engine.dispose()

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    @contextmanager
    def tx(self) -> Iterator[Session]:
        """An ORM unit of work: committed when the block ends, rolled back if it raises."""
        with self._lock, self._factory() as db, db.begin():
            yield db

    @contextmanager
    def core_tx(self) -> Iterator[Connection]:
        """A Core transaction (the voucher path: statements, no ORM objects)."""
        with self._lock, self.engine.begin() as conn:
            yield conn

    @contextmanager
    def hot_tx(self, lock: str, read: str, params: dict[str, Any]) -> Iterator[HotTx]:
        """One transaction on the voucher path, under ``lock`` (as ``Store.lock``): the ``read`` (its first
        row in ``HotTx.row``), then the writes the block queues, then the commit. It goes straight through
        the driver, without SQLAlchemy's execution machinery. On PostgreSQL that is two round trips: BEGIN,
        the lock and the read in one simple query, the writes and COMMIT in another; their values are
        written into the SQL by ``_literal``, which takes only integers, floats and strings of
        ``[0-9A-Za-z_-]`` (ids and hex: what the voucher path stores). Rolled back if the block raises."""
        with self._lock:
            postgres = self.dialect == "postgresql"
            pooled, conn, cur, row = self._hot_begin(postgres, lock, read, params)
            try:
                tx = HotTx(row)
                yield tx
                if postgres:
                    tail = "".join(_inline(sql, values) + "; " for sql, values in tx.writes)
                    cur.execute((tail + "COMMIT").encode())
                else:
                    for sql, values in tx.writes:
                        cur.execute(sql, values)
                    conn.commit()
            except BaseException:
                self._hot_abort(pooled, conn, cur, postgres)
                raise
            finally:
                self._hot_release(pooled, conn, postgres)

    def _hot_begin(self, postgres: bool, lock: str, read: str, params: dict[str, Any]) -> tuple[Any, ...]:
        """BEGIN, the lock and the read: (pooled connection, driver connection, cursor, the read's row). A
        pooled PostgreSQL connection the server has dropped meanwhile (a restart) fails here, before
        anything was written: it is thrown away and the transaction begins once more on a new one."""
        for attempt in (1, 2):
            pooled = self.engine.raw_connection()
            conn = pooled.driver_connection
            assert conn is not None
            cur = conn.cursor()
            try:
                if postgres:
                    conn.autocommit = True  # BEGIN ... COMMIT written out, with the statements around them
                    head = f"BEGIN; SELECT pg_advisory_xact_lock({LOCK_SPACE}, {int(lock_key(lock))}); "
                    cur.execute((head + _inline(read, params)).encode())
                    cur.nextset()
                    cur.nextset()  # past BEGIN's and the lock's results, to the read's
                else:
                    cur.execute("BEGIN")
                    cur.execute(read, params)
                return pooled, conn, cur, cur.fetchone()
            except BaseException:
                broken = self._hot_abort(pooled, conn, cur, postgres)
                self._hot_release(pooled, conn, postgres)
                if not broken or attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _hot_abort(self, pooled: Any, conn: Any, cur: Any, postgres: bool) -> bool:
        """Roll back; True if the connection is gone: it is then invalidated, and the pool's idle ones with
        it (a server that dropped one, restarting, dropped them all)."""
        with contextlib.suppress(Exception):
            if postgres:
                cur.execute(b"ROLLBACK")
            else:
                conn.rollback()
        broken = postgres and bool(getattr(conn, "broken", False))
        if broken:
            pooled.invalidate()
            self.engine.dispose()
        return broken

    @staticmethod
    def _hot_release(pooled: Any, conn: Any, postgres: bool) -> None:
        if postgres and not getattr(conn, "broken", False):
            with contextlib.suppress(Exception):
                conn.autocommit = False
        pooled.close()

    def lock(self, db: Session | Connection, name: str) -> None:
        """Serialise this transaction with every other one that locks ``name`` (a channel id...), until it
        ends. PostgreSQL: ``pg_advisory_xact_lock``; SQLite: the store's lock already does (one process)."""
        if self.dialect == "postgresql":
            db.execute(
                text("SELECT pg_advisory_xact_lock(:space, :key)"),
                {"space": LOCK_SPACE, "key": lock_key(name)},
            )

    def insert_ignore(self, table: Any) -> Any:
        """``INSERT … ON CONFLICT DO NOTHING`` for this database's dialect."""
        if self.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            return pg_insert(table).on_conflict_do_nothing()
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table).on_conflict_do_nothing()

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
        """Record ``nonce``: "reused" if it was used before (by any worker), "busy" if ``address`` already
        holds ``per_address`` unexpired nonces, or if the table holds ``total`` and ``address`` has no stake
        with this provider (``has_stake``; None: no limit), else "ok".

        Expired nonces are deleted first: a message past its expiration time is refused anyway, so the table
        only holds the messages still usable, at most one per request of the last ``max_lifetime``. The
        insert itself decides a race between two workers: only one of them records the nonce.

        The whole table's cap bounds what keys made up for nothing can store; a wallet with a stake here
        passes it (its own share still applies), so no number of such keys locks it out: they cost nothing,
        a stake costs a funded channel or a funded job."""
        with self.tx() as db:
            db.execute(delete(NonceRow).where(NonceRow.expires_at <= now))
            if db.get(NonceRow, nonce) is not None:
                return "reused"
            if per_address is not None:
                held = db.scalar(select(func.count()).where(NonceRow.address == address)) or 0
                if held >= per_address:
                    return "busy"
            if (
                total is not None
                and (db.scalar(select(func.count()).select_from(NonceRow)) or 0) >= total
                and not self.has_stake(db, address)
            ):
                return "busy"
            # RETURNING, not rowcount: psycopg's rowcount of this insert is -1 (SQLAlchemy 2.1, psycopg 3.3)
            added = db.execute(
                self.insert_ignore(NonceRow.__table__)
                .values(nonce=nonce, address=address, expires_at=expires_at)
                .returning(NonceRow.__table__.c.nonce)
            ).first()
            return "ok" if added is not None else "reused"

    @staticmethod
    def has_stake(db: Session, address: str) -> bool:
        """Whether ``address`` is the payer or signer of a channel this provider holds (a session was
        started on it: the channel was funded on chain), or the client of a job the provider accepted (it
        was funded on chain): what a signed request may be needed for (stop, close, the channel's state,
        the job's)."""
        channel = select(ChannelRow.id).where(or_(ChannelRow.payer == address, ChannelRow.signer == address))
        if db.scalar(channel.limit(1)) is not None:
            return True
        job = select(JobRow.id).where(JobRow.client == address, JobRow.accepted.is_(True))
        return db.scalar(job.limit(1)) is not None

    def refuse_channel(self, channel: Channel, cumulative: int, reason: str, at: float) -> bool:
        """Mark a channel refused (its sessions too); False if it already was."""
        channel_id = "0x" + channel.id.hex()
        with self.tx() as db:
            added = db.execute(
                self.insert_ignore(RefusedChannelRow.__table__)
                .values(
                    channel_id=channel_id,
                    payer=channel.payer,
                    token=channel.token,
                    cumulative=str(cumulative),
                    reason=reason[:200],
                    at=at,
                )
                .returning(RefusedChannelRow.__table__.c.channel_id)
            ).first()
            return added is not None

    def refused_channels(self, limit: int = 100) -> list[RefusedChannelRow]:
        with self.tx() as db:
            return list(
                db.scalars(select(RefusedChannelRow).order_by(RefusedChannelRow.at.desc()).limit(limit))
            )

    def refused_ids(self, reason: str | None = None) -> set[str]:
        """The refused channels (those refused for ``reason``, when given)."""
        query = select(RefusedChannelRow.channel_id)
        if reason is not None:
            query = query.where(RefusedChannelRow.reason == reason[:200])
        with self.tx() as db:
            return set(db.scalars(query))

    def set_refusal_reason(self, channel_id: str, reason: str) -> None:
        """A refused channel is refused for ``reason`` now (a worse one than it was)."""
        with self.tx() as db:
            row = db.get(RefusedChannelRow, channel_id)
            if row is not None:
                row.reason = reason[:200]

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
            return int(db.scalar(select(func.count()).select_from(ServiceRow)) or 0)

    def close(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    # WAL + NORMAL: no fsync per commit (only at checkpoints); a power cut may lose the last commits but
    # never corrupts the database. The chain escrow stays the truth.
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.close()


def _postgres_session(dbapi_conn: Any, _record: Any) -> None:
    # The same trade as SQLite's synchronous=NORMAL: a commit does not wait for its WAL to reach the disk;
    # a crash may lose the last fraction of a second of commits, never corrupts. A wait for a lock or a
    # statement is bounded, so a stuck transaction fails one request instead of every later one.
    cur = dbapi_conn.cursor()
    cur.execute("SET synchronous_commit TO off")
    cur.execute("SET lock_timeout TO '10s'")
    cur.execute("SET statement_timeout TO '30s'")
    cur.close()
    dbapi_conn.commit()
