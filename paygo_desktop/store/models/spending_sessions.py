"""What each session spent in each 15-minute slot and each UTC day, kept by SQLite triggers on the records,
for the Activity page's breakdown by service, category and provider (issue 21).

The breakdown adds up amounts and counts the distinct sessions that spent, per service (or category, or
provider). Per-slot totals of an asset (``spending_slots``) cannot count sessions, so this table keeps one
row per session per slot, and one per session per UTC day: a range reads its whole days, the whole slots
at its ends, and the part of a slot an end cuts from the records (``reports.spending_report``). Whatever
the range, the count of a group's distinct sessions over those rows is the records' own count, since every
row names its session.
"""

from __future__ import annotations

from sqlalchemy import DDL, CheckConstraint, Integer, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column

from paygo_desktop.store.models.base import Base
from paygo_desktop.store.models.spending import SLOT_SECONDS

DAY_SECONDS = 86_400  # a UTC day: a whole number of slots
SESSION_SPAN_WIDTHS = (SLOT_SECONDS, DAY_SECONDS)
NO_SESSION = 0  # ``session`` of records with none (an x402 payment, a deleted session): never counted

# what a row is kept per, after its asset, width and start: the session and everything the breakdown groups
# by or shows (so the names shown are the records' own, even after a provider renamed a service)
SESSION_SPAN_KEY = ("session", "provider_url", "service_id", "category", "service_name", "provider_name")


class SpendingSessionSpanRow(Base):
    """The spending of one session (with its service, category and provider) in one slot or one UTC day.

    Never written by the app: SQLite triggers on ``spending`` (``SPENDING_SESSION_SPAN_TRIGGERS``) add, take
    back and move each record's amount, at both widths, in the statement that writes the record, so these
    rows cannot drift from the records, not even after a crash mid-write. ``width`` is ``SLOT_SECONDS`` or
    ``DAY_SECONDS``; ``start`` the UTC instant the slot or day begins, in whole seconds since 1970 (a
    multiple of ``width``); ``session`` the record's ``session_id``, or ``NO_SESSION``. Amounts are split as
    in ``spending``, and a sum past SQLite's 64 bits, which would turn into a float, is refused by the
    check. ``records`` counts the records, those whose amount a receipt lowered to zero included: such a
    session still spent in the range, as the records say. As for ``spending_slots``, ``INSERT OR REPLACE``
    into ``spending`` would bypass the delete trigger: the app never replaces a record.
    """

    __tablename__ = "spending_session_spans"
    __table_args__ = (
        CheckConstraint(
            "typeof(amount_giga) = 'integer' AND typeof(amount_rem) = 'integer'",
            name="ck_spending_session_spans_exact",
        ),
        {"sqlite_with_rowid": False},
    )

    asset_key: Mapped[str] = mapped_column(String(120), primary_key=True)
    width: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    start: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    session: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    provider_url: Mapped[str] = mapped_column(Text, primary_key=True)
    service_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    category: Mapped[str] = mapped_column(String(100), primary_key=True)
    service_name: Mapped[str] = mapped_column(String(200), primary_key=True)
    provider_name: Mapped[str] = mapped_column(String(200), primary_key=True)
    amount_giga: Mapped[int] = mapped_column(Integer, nullable=False)
    amount_rem: Mapped[int] = mapped_column(Integer, nullable=False)
    records: Mapped[int] = mapped_column(Integer, nullable=False)


def _start_of(at: str, width: int) -> str:
    """SQL for the start of the slot or day holding the instant ``at`` (floor division, also before 1970),
    as ``spending_slots`` computes it: the fraction of a second cut off first (SQLite's date functions would
    round it to the millisecond, and the records' own ranges are text comparisons)."""
    seconds = f"CAST(strftime('%s', substr({at}, 1, 19)) AS INTEGER)"
    return f"(({seconds} / {width}) - ({seconds} % {width} < 0)) * {width}"


_COLUMNS = "asset_key, width, start, session, provider_url, service_id, category, service_name, provider_name"


def _add(row: str, width: int) -> str:
    return f"""INSERT INTO spending_session_spans ({_COLUMNS}, amount_giga, amount_rem, records)
    VALUES ({row}.asset_key, {width}, {_start_of(f"{row}.at", width)},
        COALESCE({row}.session_id, {NO_SESSION}), {row}.provider_url, {row}.service_id, {row}.category,
        {row}.service_name, {row}.provider_name, {row}.amount_giga, {row}.amount_rem, 1)
    ON CONFLICT ({_COLUMNS}) DO UPDATE SET amount_giga = amount_giga + excluded.amount_giga,
        amount_rem = amount_rem + excluded.amount_rem, records = records + 1;"""


def _take(row: str, width: int) -> str:
    where = (
        f"asset_key = {row}.asset_key AND width = {width} AND start = {_start_of(f'{row}.at', width)} "
        f"AND session = COALESCE({row}.session_id, {NO_SESSION}) AND provider_url = {row}.provider_url "
        f"AND service_id = {row}.service_id AND category = {row}.category "
        f"AND service_name = {row}.service_name AND provider_name = {row}.provider_name"
    )
    return f"""UPDATE spending_session_spans SET amount_giga = amount_giga - {row}.amount_giga,
        amount_rem = amount_rem - {row}.amount_rem, records = records - 1
    WHERE {where};
    DELETE FROM spending_session_spans WHERE {where} AND records = 0;"""


_ADD_NEW = "\n    ".join(_add("NEW", width) for width in SESSION_SPAN_WIDTHS)
_TAKE_OLD = "\n    ".join(_take("OLD", width) for width in SESSION_SPAN_WIDTHS)
# Every column a row depends on: the time, the asset, the amount (a receipt's correction lowers it), the
# session (deleting a session sets it NULL, which fires this trigger too) and the names and keys grouped by.
# Migration 0016 creates the same triggers on an existing database (a test compares both).
SPENDING_SESSION_SPAN_TRIGGERS = (
    f"CREATE TRIGGER spending_session_spans_insert AFTER INSERT ON spending BEGIN\n    {_ADD_NEW}\nEND",
    f"CREATE TRIGGER spending_session_spans_delete AFTER DELETE ON spending BEGIN\n    {_TAKE_OLD}\nEND",
    "CREATE TRIGGER spending_session_spans_update AFTER UPDATE OF at, asset_key, amount_giga, amount_rem, "
    "session_id, provider_url, service_id, category, service_name, provider_name "
    f"ON spending BEGIN\n    {_TAKE_OLD}\n    {_ADD_NEW}\nEND",
)
for _trigger in SPENDING_SESSION_SPAN_TRIGGERS:  # a new database (``Store._create_at_head``)
    event.listen(Base.metadata, "after_create", DDL(_trigger.replace("%", "%%")))  # DDL formats with %
