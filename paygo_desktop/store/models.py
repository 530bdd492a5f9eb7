"""Tables of the local store. Only public data lives here: no key, mnemonic or password, ever."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import (
    DDL,
    Boolean,
    CheckConstraint,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


class SessionStatus(StrEnum):
    """A metered session's status: the store keeps it, the session engine and the GUI read it."""

    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"
    FAILED = "failed"
    RECEIPT_INVALID = "receipt_invalid"  # stopped, but the receipt was forged, disagreed or never came
    INTERRUPTED = "interrupted"  # left by a crash or by a start with no answer: recovery settles it
    RECOVERED = "recovered"  # settled with the provider by recovery, at a later start

    @property
    def is_open(self) -> bool:
        """Not settled yet: what recovery looks at."""
        return self in OPEN_STATUSES

    @property
    def is_active(self) -> bool:
        """A session of this run that has not ended."""
        return self in (SessionStatus.STARTING, SessionStatus.RUNNING, SessionStatus.STOPPING)


OPEN_STATUSES = (
    SessionStatus.STARTING,
    SessionStatus.RUNNING,
    SessionStatus.STOPPING,
    SessionStatus.INTERRUPTED,
)


class Funding(StrEnum):
    """How a session is paid."""

    ESCROW = "escrow"  # vouchers on the app's channel with the provider
    ZCASH = "zcash"  # a prepaid Zcash spending permission
    X402 = "x402"  # spending only: one HTTP request paid with x402 (x402.payer), no session


def _values_of(enum: type[StrEnum], length: int) -> Enum:
    """A column of an enum's values, stored as the plain strings they are (no database enum type)."""
    return Enum(enum, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e])


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


class RegistryEntryRow(Base):
    """A provider's current entry in a PayGoRegistry, folded from the registry's events (the chain is the
    truth). The text is what the chain said, bounded by the log decoder, unchecked: the Services page checks
    it before use (``services.registry``)."""

    __tablename__ = "registry_entries"
    __table_args__ = (UniqueConstraint("chain_id", "contract", "provider"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chain_id: Mapped[int] = mapped_column(Integer, nullable=False)
    contract: Mapped[str] = mapped_column(String(42), nullable=False)  # the registry's address
    provider: Mapped[str] = mapped_column(String(42), nullable=False)  # the registrant: its payTo
    signing_key: Mapped[str] = mapped_column(String(42), nullable=False)
    catalog_url: Mapped[str] = mapped_column(Text, nullable=False)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    block_number: Mapped[int] = mapped_column(Integer, nullable=False)  # of the event that wrote it
    log_index: Mapped[int] = mapped_column(Integer, nullable=False)


class SessionRow(Base):
    """A metered session the user started, from the start request to the provider's receipt.

    Amounts are integer base units of the session's asset, kept as decimal strings (wei overflow SQLite's
    64-bit integers). ``channel_base`` is the channel's cumulative total before this session: the
    session's cost is the last cumulative signed minus it.
    """

    __tablename__ = "sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    local_id: Mapped[str] = mapped_column(String(36), unique=True, nullable=False)
    remote_id: Mapped[str | None] = mapped_column(String(100), nullable=True, index=True)
    account: Mapped[str] = mapped_column(String(42), nullable=False)
    network: Mapped[str] = mapped_column(String(60), nullable=False)
    chain_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    funding: Mapped[Funding] = mapped_column(_values_of(Funding, 10), nullable=False)
    channel_id: Mapped[str | None] = mapped_column(String(66), nullable=True, index=True)
    zcash_permission_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    provider_url: Mapped[str] = mapped_column(Text, nullable=False)
    provider_name: Mapped[str] = mapped_column(String(200), nullable=False)
    provider_address: Mapped[str | None] = mapped_column(String(42), nullable=True)
    service_id: Mapped[str] = mapped_column(String(100), nullable=False)
    service_name: Mapped[str] = mapped_column(String(200), nullable=False)
    category: Mapped[str] = mapped_column(String(100), nullable=False, default="")
    service_type: Mapped[str] = mapped_column(String(20), nullable=False, default="other")
    asset_symbol: Mapped[str] = mapped_column(String(20), nullable=False)
    asset_address: Mapped[str | None] = mapped_column(String(42), nullable=True)  # None: the native coin
    decimals: Mapped[int] = mapped_column(Integer, nullable=False)
    rate_amount: Mapped[str] = mapped_column(String(80), nullable=False)
    rate_unit: Mapped[str] = mapped_column(String(20), nullable=False)
    tick_seconds: Mapped[int] = mapped_column(Integer, nullable=False)
    grace_seconds: Mapped[int] = mapped_column(Integer, nullable=False)
    budget: Mapped[str] = mapped_column(String(80), nullable=False)
    channel_base: Mapped[str] = mapped_column(String(80), nullable=False, default="0")
    signed: Mapped[str] = mapped_column(String(80), nullable=False, default="0")  # last cumulative signed
    acked: Mapped[str] = mapped_column(String(80), nullable=False, default="0")  # last cumulative acked
    cost: Mapped[str] = mapped_column(String(80), nullable=False, default="0")  # what this session cost
    # when it ended: what the chain had paid the provider on the channel beyond the sessions' settled
    # costs (a voucher one tick ahead claimed before the session settled lower); the next session uses it
    paid_ahead_credit: Mapped[str] = mapped_column(
        String(80), nullable=False, default="0", server_default="0"
    )
    seconds: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    status: Mapped[SessionStatus] = mapped_column(_values_of(SessionStatus, 20), nullable=False, index=True)
    stop_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    receipt: Mapped[str | None] = mapped_column(Text, nullable=True)  # the provider's signed receipt, JSON
    receipt_ok: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    # for the session's proof file (receipts.proof): the provider's signed quote (JSON), the key that signed
    # it (from the provider's /provider answer) and the channel's parameters (JSON, wire form)
    quote: Mapped[str | None] = mapped_column(Text, nullable=True)
    signing_key: Mapped[str | None] = mapped_column(String(42), nullable=True)
    channel: Mapped[str | None] = mapped_column(Text, nullable=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class SessionVoucherRow(Base):
    """A voucher exactly as signed, written before it is sent; ``acked_at`` once the provider took it."""

    __tablename__ = "session_vouchers"
    __table_args__ = (UniqueConstraint("session_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False)
    channel_id: Mapped[str | None] = mapped_column(String(66), nullable=True, index=True)
    seq: Mapped[int] = mapped_column(Integer, nullable=False)
    cumulative: Mapped[str] = mapped_column(String(80), nullable=False)
    signature: Mapped[str] = mapped_column(String(140), nullable=False)
    signed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)
    acked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class SpendingRow(Base):
    """One amount spent, for the charts: written as vouchers are acked and corrected by the receipt.

    Denormalised on purpose (service, category, provider, asset on each row) so that the Activity page
    aggregates in one indexed query. SQLite integers are 64-bit, so an amount is split into
    ``amount_giga`` (amount // 10**9) and ``amount_rem`` (amount % 10**9); SUM of each cannot overflow for
    any realistic history, and the exact total is SUM(giga) * 10**9 + SUM(rem).
    """

    __tablename__ = "spending"
    # covering: sums over the records (a bucket's cut edges, a period's total) read this index alone, never
    # the table; whole 15-minute slots come from spending_slots (docs/performance.md)
    __table_args__ = (Index("ix_spending_asset_at", "asset_key", "at", "amount_giga", "amount_rem"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, index=True)
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("sessions.id", ondelete="SET NULL"), nullable=True
    )
    account: Mapped[str] = mapped_column(String(42), nullable=False)
    network: Mapped[str] = mapped_column(String(60), nullable=False)
    funding: Mapped[Funding] = mapped_column(_values_of(Funding, 10), nullable=False)
    # "<network>:<symbol>:<address|native>": amounts with different keys are never added together
    asset_key: Mapped[str] = mapped_column(String(120), nullable=False)
    asset_symbol: Mapped[str] = mapped_column(String(20), nullable=False)
    decimals: Mapped[int] = mapped_column(Integer, nullable=False)
    provider_url: Mapped[str] = mapped_column(Text, nullable=False)
    provider_name: Mapped[str] = mapped_column(String(200), nullable=False)
    service_id: Mapped[str] = mapped_column(String(100), nullable=False)
    service_name: Mapped[str] = mapped_column(String(200), nullable=False)
    category: Mapped[str] = mapped_column(String(100), nullable=False)
    amount_giga: Mapped[int] = mapped_column(Integer, nullable=False)
    amount_rem: Mapped[int] = mapped_column(Integer, nullable=False)


SLOT_SECONDS = (
    900  # every UTC offset in use is a multiple of 15 minutes: local hours and midnights are slot edges
)


class SpendingSlotRow(Base):
    """The spending of one asset in one 15-minute slot, kept ahead of time for the charts.

    Never written by the app: SQLite triggers on ``spending`` (``SPENDING_SLOT_TRIGGERS``) add, take back
    and move each record's amount in the same statement that writes the record, so the totals cannot drift
    from the records, not even after a crash mid-write. ``slot`` is the UTC instant the slot begins, in
    whole seconds since 1970 (a multiple of ``SLOT_SECONDS``); the amounts are split as in ``spending``.
    A sum that no longer fits SQLite's 64 bits would turn into a float: the check refuses the write instead.
    ``INSERT OR REPLACE`` into ``spending`` would bypass the delete trigger (SQLite fires it for a replaced
    row only with ``recursive_triggers`` on): the app never replaces a record, it inserts, updates, deletes.
    """

    __tablename__ = "spending_slots"
    __table_args__ = (
        CheckConstraint(
            "typeof(amount_giga) = 'integer' AND typeof(amount_rem) = 'integer'",
            name="ck_spending_slots_exact",
        ),
        {"sqlite_with_rowid": False},
    )

    asset_key: Mapped[str] = mapped_column(String(120), primary_key=True)
    slot: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    amount_giga: Mapped[int] = mapped_column(Integer, nullable=False)
    amount_rem: Mapped[int] = mapped_column(Integer, nullable=False)
    records: Mapped[int] = mapped_column(Integer, nullable=False)


def _slot_of(at: str) -> str:
    """SQL for the slot holding the instant ``at`` (floor division, also before 1970). The fraction of a
    second is cut off the text first: SQLite's date functions round it to the millisecond, which would put
    23:59:59.999600 in the next slot while the records' own ranges (text comparisons) keep it here."""
    seconds = f"CAST(strftime('%s', substr({at}, 1, 19)) AS INTEGER)"
    return f"(({seconds} / {SLOT_SECONDS}) - ({seconds} % {SLOT_SECONDS} < 0)) * {SLOT_SECONDS}"


_ADD_NEW = f"""INSERT INTO spending_slots (asset_key, slot, amount_giga, amount_rem, records)
    VALUES (NEW.asset_key, {_slot_of("NEW.at")}, NEW.amount_giga, NEW.amount_rem, 1)
    ON CONFLICT (asset_key, slot) DO UPDATE SET amount_giga = amount_giga + excluded.amount_giga,
        amount_rem = amount_rem + excluded.amount_rem, records = records + 1;"""
_TAKE_OLD = f"""UPDATE spending_slots SET amount_giga = amount_giga - OLD.amount_giga,
        amount_rem = amount_rem - OLD.amount_rem, records = records - 1
    WHERE asset_key = OLD.asset_key AND slot = {_slot_of("OLD.at")};
    DELETE FROM spending_slots WHERE asset_key = OLD.asset_key AND slot = {_slot_of("OLD.at")}
        AND records = 0;"""
# The app inserts records (a voucher, a receipt's correction, an x402 payment), lowers their amounts
# (``SessionHistory.settle_spending``) and may delete them; the update trigger covers every column a slot
# depends on. Migration 0013 creates the same triggers on an existing database (a test compares both).
SPENDING_SLOT_TRIGGERS = (
    f"CREATE TRIGGER spending_slots_insert AFTER INSERT ON spending BEGIN\n    {_ADD_NEW}\nEND",
    f"CREATE TRIGGER spending_slots_delete AFTER DELETE ON spending BEGIN\n    {_TAKE_OLD}\nEND",
    "CREATE TRIGGER spending_slots_update AFTER UPDATE OF at, asset_key, amount_giga, amount_rem "
    f"ON spending BEGIN\n    {_TAKE_OLD}\n    {_ADD_NEW}\nEND",
)
for _trigger in SPENDING_SLOT_TRIGGERS:  # a new database (``Store._create_at_head``): after all the tables
    event.listen(Base.metadata, "after_create", DDL(_trigger.replace("%", "%%")))  # DDL formats with %


class ZcashPermissionRow(Base):
    """A Zcash spending permission bought from a provider: the app's own record of it.

    What was bought (``amount_zat``, ``rate_per_hour_zat``, ``expires_at``) is fixed at buying; the app's
    own meter fills ``used_seconds`` and ``metered_zat``; ``status`` is the app's own (see
    ``paygo_desktop.zcash.cross_check``). The provider's last answer is kept beside it, never over it:
    ``reported`` (its JSON, without any token), ``reported_at`` and ``deducted_zat``; ``verification`` and
    ``confirmations`` are the provider's view of the payment (the app cannot see the chain). A session the
    provider ended as "exhausted" while the app's meter had more than a tick left leaves
    ``exhaustion_claim_left_zat``.

    The provider's bearer token is never kept in clear: ``token_sealed`` holds it encrypted (AES-GCM) under
    a key derived from the private key of ``account`` (see ``paygo_desktop.zcash.token_seal``), so only
    the unlocked wallet can read it.
    """

    __tablename__ = "zcash_permissions"
    __table_args__ = (UniqueConstraint("provider_url", "permission_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider_url: Mapped[str] = mapped_column(Text, nullable=False)
    provider_name: Mapped[str] = mapped_column(String(200), nullable=False)
    permission_id: Mapped[str] = mapped_column(String(100), nullable=False)
    account: Mapped[str] = mapped_column(String(42), nullable=False)
    user_address: Mapped[str | None] = mapped_column(Text, nullable=True)  # the user's Zcash address
    pay_address: Mapped[str] = mapped_column(Text, nullable=False)
    payment_uri: Mapped[str] = mapped_column(Text, nullable=False)
    amount_zat: Mapped[int] = mapped_column(Integer, nullable=False)
    rate_per_hour_zat: Mapped[int] = mapped_column(Integer, nullable=False)
    used_seconds: Mapped[int] = mapped_column(Integer, nullable=False, default=0)  # as the app's meter says
    deducted_zat: Mapped[int] = mapped_column(Integer, nullable=False, default=0)  # as the provider says
    metered_zat: Mapped[int] = mapped_column(Integer, nullable=False, default=0)  # as the app's meter says
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    verification: Mapped[str | None] = mapped_column(String(20), nullable=True)
    confirmations: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    token_sealed: Mapped[str | None] = mapped_column(Text, nullable=True)  # AES-GCM, never the clear token
    allow_fallback: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)
    reported: Mapped[str | None] = mapped_column(Text, nullable=True)  # the provider's last answer (JSON)
    reported_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # the provider ended a session saying the permission ran out while the app's meter had this much
    # (zatoshi) left (the most of such claims; None: it never did): kept, so the Zcash page keeps flagging it
    exhaustion_claim_left_zat: Mapped[int | None] = mapped_column(Integer, nullable=True)


class NoticeRow(Base):
    """A notification already shown (a renewal reminder, a low-hours warning), so it is shown once."""

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True, nullable=False)
    shown_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)


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


class ProviderNoteRow(Base):
    """What a provider's receipt (or report) said beside what the app's own meter said, once per session
    (or permission) and verdict: the provider's record on the Services page (``reports.provider_record``)."""

    __tablename__ = "provider_notes"
    __table_args__ = (
        UniqueConstraint("source", "ref", "verdict"),
        Index("ix_provider_notes_provider", "provider_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)
    provider_key: Mapped[str] = mapped_column(String(200), nullable=False)  # its payTo address, or its URL
    provider_url: Mapped[str] = mapped_column(Text, nullable=False)
    provider_name: Mapped[str] = mapped_column(String(200), nullable=False)
    source: Mapped[str] = mapped_column(String(20), nullable=False)  # session | zcash (later: job, x402)
    ref: Mapped[str] = mapped_column(String(100), nullable=False)  # the session's local id, the permission id
    verdict: Mapped[str] = mapped_column(String(20), nullable=False)  # agreed | disagreed | over_claimed | …
    asset_symbol: Mapped[str | None] = mapped_column(String(20), nullable=True)
    decimals: Mapped[int | None] = mapped_column(Integer, nullable=True)
    meter_amount: Mapped[str | None] = mapped_column(String(80), nullable=True)  # what the app's meter said
    provider_amount: Mapped[str | None] = mapped_column(String(80), nullable=True)  # what the provider said
    detail: Mapped[str] = mapped_column(Text, nullable=False)


class JobRow(Base):
    """A fixed-price job this app's account requested (``jobs.service``): its PayGoJobs terms (``id`` is
    their hash), the brief, and where it came from. What was paid is never read from here: the job's state
    is the contract's, read each time. ``cancel_signature``: the provider's Cancel(jobId, 0) once it
    declined (public data: it can only refund this account); ``download_*``: the delivery downloaded and
    checked against the hash on chain."""

    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(66), primary_key=True)
    chain_id: Mapped[int] = mapped_column(Integer, nullable=False)
    contract: Mapped[str] = mapped_column(String(42), nullable=False)
    client: Mapped[str] = mapped_column(String(42), nullable=False, index=True)
    worker: Mapped[str] = mapped_column(String(42), nullable=False)
    token: Mapped[str] = mapped_column(String(42), nullable=False)
    asset_symbol: Mapped[str] = mapped_column(String(12), nullable=False)
    asset_decimals: Mapped[int] = mapped_column(Integer, nullable=False)
    price: Mapped[str] = mapped_column(String(40), nullable=False)  # base units (uint128: not an SQL int)
    deadline: Mapped[int] = mapped_column(Integer, nullable=False)
    review_window: Mapped[int] = mapped_column(Integer, nullable=False)
    terms: Mapped[str] = mapped_column(String(66), nullable=False)
    salt: Mapped[str] = mapped_column(String(66), nullable=False)
    provider_url: Mapped[str] = mapped_column(Text, nullable=False)
    provider_name: Mapped[str] = mapped_column(Text, nullable=False)
    offer_id: Mapped[str] = mapped_column(String(64), nullable=False)
    offer_name: Mapped[str] = mapped_column(Text, nullable=False)
    brief: Mapped[str] = mapped_column(Text, nullable=False)
    cancel_signature: Mapped[str | None] = mapped_column(String(132), nullable=True)
    download_path: Mapped[str | None] = mapped_column(Text, nullable=True)
    download_sha256: Mapped[str | None] = mapped_column(String(66), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)


class X402PolicyRow(Base):
    """The user's spending limits for one site's x402 payments (``x402.policy``): ``origin`` is
    ``scheme://host[:port]``; the limits are base units of the asset named here (decimal strings: uint256
    fits no SQL integer), NULL for none. ``allowed`` False blocks the site; ``ask_first`` asks before each
    payment."""

    __tablename__ = "x402_policies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    origin: Mapped[str] = mapped_column(String(300), unique=True, nullable=False)
    allowed: Mapped[bool] = mapped_column(Boolean, nullable=False)
    ask_first: Mapped[bool] = mapped_column(Boolean, nullable=False)
    chain_id: Mapped[int] = mapped_column(Integer, nullable=False)
    asset: Mapped[str] = mapped_column(String(42), nullable=False)  # the token's address
    asset_symbol: Mapped[str] = mapped_column(String(20), nullable=False)
    decimals: Mapped[int] = mapped_column(Integer, nullable=False)
    max_per_request: Mapped[str | None] = mapped_column(String(80), nullable=True)
    max_per_day: Mapped[str | None] = mapped_column(String(80), nullable=True)
    max_total: Mapped[str | None] = mapped_column(String(80), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)


class X402PaymentRow(Base):
    """One x402 payment this app signed (``x402.payer``), written before the signed authorization is sent:
    ``pending`` until the server's PAYMENT-RESPONSE says ``settled`` (with its transaction) or ``failed``.
    ``nonce``/``valid_before``: the EIP-3009 authorization's (``upto``: the Permit2 nonce, hex, and deadline),
    so a pending one is known to lapse.
    ``valid_after``, ``signature`` and ``requirements`` (the server's quote as JSON, ``extra`` naming the
    EIP-712 domain signed under): what the payment's proof file needs (migration 0011; None before it).
    The signature is the payer's authorization, not a key: it is kept, never logged."""

    __tablename__ = "x402_payments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow, index=True
    )
    origin: Mapped[str] = mapped_column(String(300), nullable=False, index=True)
    url: Mapped[str] = mapped_column(Text, nullable=False)
    method: Mapped[str] = mapped_column(String(10), nullable=False)
    scheme: Mapped[str] = mapped_column(String(30), nullable=False)
    network: Mapped[str] = mapped_column(String(60), nullable=False)  # CAIP-2, e.g. eip155:84532
    payer: Mapped[str] = mapped_column(String(42), nullable=False)
    pay_to: Mapped[str] = mapped_column(String(42), nullable=False)
    asset: Mapped[str] = mapped_column(String(42), nullable=False)
    asset_symbol: Mapped[str] = mapped_column(String(20), nullable=False)
    decimals: Mapped[int] = mapped_column(Integer, nullable=False)
    amount: Mapped[str] = mapped_column(String(80), nullable=False)  # base units: the most it may move
    nonce: Mapped[str] = mapped_column(String(66), nullable=False)
    valid_before: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False)  # pending | settled | failed
    # base units the settlement moved (``upto``: at most ``amount``); None before settlement (migration 0012)
    settled_amount: Mapped[str | None] = mapped_column(String(80), nullable=True)
    tx_hash: Mapped[str | None] = mapped_column(String(66), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    settled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    valid_after: Mapped[str | None] = mapped_column(String(80), nullable=True)  # uint256, decimal
    signature: Mapped[str | None] = mapped_column(Text, nullable=True)
    requirements: Mapped[str | None] = mapped_column(Text, nullable=True)
    # the chain showed its authorization unspent with the chain's own time past ``valid_before``: it can never
    # move money, so it counts no more and is not asked again (``x402.lapsed``; migration 0014)
    never_moves: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=false())
