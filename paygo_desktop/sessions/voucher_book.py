"""The vouchers of this app's sessions, and what they commit on each channel.

A voucher is written before it is sent and marked when the provider confirms it (an ack, a recovery's word
on what it holds, a receipt settled at a final voucher). From them: the channel's cursor (the newest
confirmed voucher), what the app's vouchers commit there, the credit paid ahead, and a settlement the
provider went back on, rebooked to the session that signed the voucher it kept. Acks record spending as
they come (the delta the provider confirmed).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import BindParameter, Table, bindparam, func, insert, select, update

from paygo_desktop.sessions.session_record import (
    SESSIONS,
    SPENDING_COLUMNS,
    SessionRecord,
    row_of,
    session_record,
    spending_entry,
    spending_of,
)
from paygo_desktop.sessions.status import SessionStatus
from paygo_desktop.store.database import Store
from paygo_desktop.store.models import SessionRow, SessionVoucherRow, SpendingRow, utcnow
from paygo_desktop.store.spending import spending_values

_VOUCHERS: Table = SessionVoucherRow.__table__  # type: ignore[assignment]
_SPENDING: Table = SpendingRow.__table__  # type: ignore[assignment]
# the per-voucher statements, built once (``add_voucher``, ``ack_voucher``)
_ROW_ID: BindParameter[int] = bindparam("row_id")
_SIGNED_OF = select(SESSIONS.c.id, SESSIONS.c.signed).where(SESSIONS.c.local_id == bindparam("local_id"))
_ACKED_OF = select(SESSIONS.c.id, SESSIONS.c.acked, *SPENDING_COLUMNS).where(
    SESSIONS.c.local_id == bindparam("local_id")
)
_ADD_VOUCHER = insert(_VOUCHERS)
_SET_SIGNED = update(SESSIONS).where(SESSIONS.c.id == _ROW_ID).values(signed=bindparam("signed"))
_SET_ACKED = update(SESSIONS).where(SESSIONS.c.id == _ROW_ID).values(acked=bindparam("acked"))
_ACK_VOUCHER = (
    update(_VOUCHERS)
    .where(
        _VOUCHERS.c.session_id == _ROW_ID,
        _VOUCHERS.c.seq == bindparam("voucher_seq"),
        _VOUCHERS.c.acked_at.is_(None),
    )
    .values(acked_at=bindparam("acked_at"))
)
_ADD_SPENDING = insert(_SPENDING)


@dataclass(frozen=True)
class Rebooked:
    """A settlement the provider went back on (``VoucherBook.rebook_superseded``): it reports, as what it
    holds on the channel, ``held``, our own earlier voucher that a session's settled final voucher had
    replaced, above the ``settled`` total this app's books committed there; ``extra`` (held - settled) is
    now booked against ``record``, the session that signed that voucher."""

    record: SessionRecord  # as rebooked: its cost includes ``extra``, its receipt is no longer ok
    settled: int
    held: int

    @property
    def extra(self) -> int:
        return self.held - self.settled


class VoucherBook:
    """The vouchers of this app's sessions (SessionHistory is one, with the sessions' rows)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    # The two writes of every voucher (issue 21: a running session's CPU) are prepared SQLAlchemy Core
    # statements, one transaction each: the ORM's unit of work, and statements built anew each time,
    # cost several times as much CPU.
    def add_voucher(
        self, local_id: str, seq: int, cumulative: int, signature: str, channel_id: str | None
    ) -> None:
        """Written before the voucher is sent; ``signed`` on the session moves with it."""
        with self._store.engine.begin() as conn:
            row = conn.execute(_SIGNED_OF, {"local_id": local_id}).first()
            if row is None:
                raise KeyError(local_id)
            conn.execute(
                _ADD_VOUCHER,
                {
                    "session_id": row.id,
                    "channel_id": channel_id,
                    "seq": seq,
                    "cumulative": str(cumulative),
                    "signature": signature,
                    "signed_at": utcnow(),
                },
            )
            if cumulative > int(row.signed):
                conn.execute(_SET_SIGNED, {"row_id": row.id, "signed": str(cumulative)})

    def ack_voucher(self, local_id: str, seq: int, cumulative: int) -> int:
        """The provider took voucher ``seq``: mark it, move ``acked``, record the spending delta.

        Returns the delta (this session's amount the ack added).
        """
        with self._store.engine.begin() as conn:
            row = conn.execute(_ACKED_OF, {"local_id": local_id}).first()
            if row is None:
                raise KeyError(local_id)
            conn.execute(_ACK_VOUCHER, {"row_id": row.id, "voucher_seq": seq, "acked_at": utcnow()})
            before = int(row.acked)
            if cumulative <= before:
                return 0
            conn.execute(_SET_ACKED, {"row_id": row.id, "acked": str(cumulative)})
            delta = cumulative - before
            conn.execute(_ADD_SPENDING, spending_values(spending_entry(row, delta)))
            return delta

    def mark_delivered(self, local_id: str, cumulative: int) -> None:
        """Recovery learnt that the provider holds ``cumulative``: the vouchers up to it were delivered.

        A final voucher signed below an earlier one (the stop's, settling at the meter) is not among them:
        the provider holding more than it says it never took it (it may never have been sent), and only a
        receipt settled at it confirms it (``settle_final``). Marked, it would be the channel's newest
        confirmed voucher, and the cursor would drop below what the provider holds.

        Spending is settled separately (``SessionHistory.settle_spending``)."""
        with self._store.session() as s:
            row = row_of(s, local_id)
            vouchers = s.scalars(
                select(SessionVoucherRow)
                .where(SessionVoucherRow.session_id == row.id)
                .order_by(SessionVoucherRow.seq)
            ).all()
            signed_before = 0
            for voucher in vouchers:
                amount = int(voucher.cumulative)
                final = amount < signed_before  # as ``final_vouchers`` tells them
                if voucher.acked_at is None and amount <= cumulative and not final:
                    voucher.acked_at = utcnow()
                signed_before = max(signed_before, amount)
            row.acked = str(max(int(row.acked), cumulative))

    def settle_final(self, local_id: str, cumulative: int) -> None:
        """The provider's receipt settled the session at our final voucher for ``cumulative`` (which may be
        below vouchers confirmed one tick ahead): mark it confirmed and make it the session's ``acked``.

        Spending is settled separately (``SessionHistory.settle_spending``)."""
        with self._store.session() as s:
            row = row_of(s, local_id)
            for voucher in s.scalars(
                select(SessionVoucherRow).where(
                    SessionVoucherRow.session_id == row.id,
                    SessionVoucherRow.cumulative == str(cumulative),
                    SessionVoucherRow.acked_at.is_(None),
                )
            ).all():
                voucher.acked_at = utcnow()
            row.acked = str(cumulative)

    def vouchers(self, local_id: str) -> list[tuple[int, int, bool]]:
        """(seq, cumulative, acked) of every voucher of a session, in order."""
        with self._store.session() as s:
            row = row_of(s, local_id)
            rows = s.scalars(
                select(SessionVoucherRow)
                .where(SessionVoucherRow.session_id == row.id)
                .order_by(SessionVoucherRow.seq)
            ).all()
            return [(v.seq, int(v.cumulative), v.acked_at is not None) for v in rows]

    def channel_cursor(self, channel_id: str) -> int:
        """The cumulative the provider last confirmed holding on this channel, over every session: the
        newest confirmed voucher. A settled final voucher counts, so the cursor can move down to it."""
        with self._store.session() as s:
            value = s.scalar(
                select(SessionVoucherRow.cumulative)
                .where(SessionVoucherRow.channel_id == channel_id, SessionVoucherRow.acked_at.is_not(None))
                .order_by(SessionVoucherRow.id.desc())
                .limit(1)
            )
            return 0 if value is None else int(value)

    def channel_committed(self, channel_id: str) -> int:
        """What this app's vouchers commit on the channel: the provider's cursor, or more if a voucher
        signed after it was never confirmed (the provider may hold it). Used for what is left to spend."""
        with self._store.session() as s:
            newest_acked = s.scalar(
                select(SessionVoucherRow.id)
                .where(SessionVoucherRow.channel_id == channel_id, SessionVoucherRow.acked_at.is_not(None))
                .order_by(SessionVoucherRow.id.desc())
                .limit(1)
            )
            later = s.scalars(
                select(SessionVoucherRow.cumulative).where(
                    SessionVoucherRow.channel_id == channel_id,
                    SessionVoucherRow.id > (newest_acked if newest_acked is not None else 0),
                )
            ).all()
        return max([self.channel_cursor(channel_id), *(int(v) for v in later)])

    def paid_ahead_credit(self, channel_id: str, claimed: int) -> int:
        """What the chain paid the provider on the channel (``claimed``) beyond what this app's sessions
        committed there: a voucher one tick ahead claimed before its session settled lower. It is paid
        ahead, and the next session on the channel uses it first (it starts from the provider's cursor,
        below ``claimed``). 0 when this app has no voucher on the channel (its history is elsewhere)."""
        if not self.channel_signed(channel_id):
            return 0
        return max(0, claimed - self.channel_committed(channel_id))

    def channel_signed(self, channel_id: str) -> int:
        """The highest cumulative ever signed on this channel."""
        with self._store.session() as s:
            values = s.scalars(
                select(SessionVoucherRow.cumulative).where(SessionVoucherRow.channel_id == channel_id)
            ).all()
            return max((int(v) for v in values), default=0)

    def rebook_superseded(self, channel_id: str, held: int, why: str) -> Rebooked | None:
        """The provider reports ``held`` (its signature checked: ours) as what it holds on the channel. When
        that is above what this app's books commit there (``channel_committed``) and is one of this app's own
        vouchers on the channel, the provider went back on a settlement: a session settled at a final
        voucher below that voucher, signed one tick ahead, and the provider kept the earlier one. It can
        claim it on chain whatever the app does, so the books follow it: the difference is added to the
        cost (and spending) of the session that signed the voucher, its receipt is marked not ok (``why``
        added to its stop reason), and the voucher is recorded again as the channel's newest confirmed one,
        so the channel's cursor is ``held`` and a second call books nothing. None when there is nothing to
        book (``held`` at or below the books, or a voucher this app never signed: another install's)."""
        settled = self.channel_committed(channel_id)
        if held <= settled:
            return None
        with self._store.session() as s:
            voucher = s.scalar(
                select(SessionVoucherRow)
                .where(SessionVoucherRow.channel_id == channel_id, SessionVoucherRow.cumulative == str(held))
                .order_by(SessionVoucherRow.id.desc())
                .limit(1)
            )
            if voucher is None:
                return None
            row = s.get(SessionRow, voucher.session_id)
            assert row is not None
            if row.status.is_open:  # an unsettled session: recovery settles it, not this
                return None
            extra = held - settled
            last_seq = s.scalar(
                select(func.max(SessionVoucherRow.seq)).where(SessionVoucherRow.session_id == row.id)
            )
            s.add(
                SessionVoucherRow(
                    session_id=row.id,
                    channel_id=channel_id,
                    seq=(last_seq or 0) + 1,
                    cumulative=str(held),
                    signature=voucher.signature,
                    signed_at=voucher.signed_at,
                    acked_at=utcnow(),
                )
            )
            row.cost = str(int(row.cost) + extra)
            row.acked = str(max(int(row.acked), held))
            # a credit it showed as paid ahead (claimed above its settlement) was this, not a credit
            row.paid_ahead_credit = str(max(0, int(row.paid_ahead_credit) - extra))
            row.receipt_ok = False
            if row.status is SessionStatus.STOPPED:
                row.status = SessionStatus.RECEIPT_INVALID
            row.stop_reason = f"{row.stop_reason} {why}".strip() if row.stop_reason else why
            s.add(spending_of(row, extra))
            s.flush()
            return Rebooked(session_record(row), settled, held)


def final_vouchers(vouchers: Iterable[tuple[int, int, bool]]) -> set[int]:
    """The cumulatives of a session's final vouchers (``vouchers``: (seq, cumulative, acked) in order, as
    ``VoucherBook.vouchers`` gives them): each signed below an earlier voucher of the session, as the stop
    signs one settling at the meter below the voucher one tick ahead."""
    found: set[int] = set()
    signed_before = 0
    for _, cumulative, _ in vouchers:
        if cumulative < signed_before:
            found.add(cumulative)
        signed_before = max(signed_before, cumulative)
    return found
