"""What was spent, for the charts: the records, and their totals per asset per 15 minutes kept by SQLite
triggers on the records."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DDL, CheckConstraint, DateTime, ForeignKey, Index, Integer, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column

from paygo_desktop.store.models.base import Base, values_of
from paygo_desktop.store.models.sessions import Funding


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
    funding: Mapped[Funding] = mapped_column(values_of(Funding, 10), nullable=False)
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
