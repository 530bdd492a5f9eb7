"""The sessions' store repository: session rows, their vouchers, spending records, filters.

Amounts are ints here and decimal strings in the table (they overflow SQLite's 64-bit integers). Spending
records follow the acks (each ack adds the delta the provider confirmed) and are settled at the end so that
a session's rows sum exactly to its final cost.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BindParameter, Table, bindparam, func, insert, select, update

from paygo_desktop.metering.meter import Price
from paygo_desktop.money import Asset
from paygo_desktop.sessions.status import OPEN_STATUSES, SessionStatus
from paygo_desktop.sessions.terms import SessionTerms
from paygo_desktop.store.database import Store
from paygo_desktop.store.models import SessionRow, SessionVoucherRow, SpendingRow, utcnow
from paygo_desktop.store.spending import (
    SpendingEntry,
    SpendingLog,
    join_amount,
    spending_row,
    spending_values,
)

_SESSIONS: Table = SessionRow.__table__  # type: ignore[assignment]
_VOUCHERS: Table = SessionVoucherRow.__table__  # type: ignore[assignment]
_SPENDING: Table = SpendingRow.__table__  # type: ignore[assignment]
# the session's columns a spending record copies (``_spending_entry``)
_SPENDING_COLUMNS = [
    _SESSIONS.c[name]
    for name in (
        "account",
        "network",
        "funding",
        "asset_symbol",
        "asset_address",
        "decimals",
        "provider_url",
        "provider_name",
        "service_id",
        "service_name",
        "category",
    )
]
# the per-voucher statements, built once (``add_voucher``, ``ack_voucher``)
_ROW_ID: BindParameter[int] = bindparam("row_id")
_SIGNED_OF = select(_SESSIONS.c.id, _SESSIONS.c.signed).where(_SESSIONS.c.local_id == bindparam("local_id"))
_ACKED_OF = select(_SESSIONS.c.id, _SESSIONS.c.acked, *_SPENDING_COLUMNS).where(
    _SESSIONS.c.local_id == bindparam("local_id")
)
_ADD_VOUCHER = insert(_VOUCHERS)
_SET_SIGNED = update(_SESSIONS).where(_SESSIONS.c.id == _ROW_ID).values(signed=bindparam("signed"))
_SET_ACKED = update(_SESSIONS).where(_SESSIONS.c.id == _ROW_ID).values(acked=bindparam("acked"))
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
_AMOUNT_FIELDS = ("budget", "channel_base", "signed", "acked", "cost", "rate_amount", "paid_ahead_credit")


@dataclass(frozen=True)
class SessionRecord:
    """One session as the store keeps it: its terms, and how far it got."""

    local_id: str
    terms: SessionTerms
    remote_id: str | None
    status: SessionStatus
    signed: int  # channel-wide cumulatives for escrow (base + this session's amount)
    acked: int
    cost: int
    seconds: int
    stop_reason: str | None
    receipt: str | None
    receipt_ok: bool | None
    started_at: datetime
    ended_at: datetime | None
    paid_ahead_credit: int = 0  # see store.models.SessionRow.paid_ahead_credit

    @property
    def is_open(self) -> bool:
        return self.status.is_open


def _columns(terms: SessionTerms) -> dict[str, Any]:
    """A session's terms as the columns of its row (the row's schema is store.models.SessionRow)."""
    return {
        "account": terms.account,
        "network": terms.network,
        "chain_id": terms.chain_id,
        "funding": terms.funding,
        "channel_id": terms.channel_id,
        "channel_base": str(terms.channel_base),
        "zcash_permission_id": terms.permission_id,
        "provider_url": terms.provider_url,
        "provider_name": terms.provider_name,
        "provider_address": terms.provider_address,
        "service_id": terms.service_id,
        "service_name": terms.service_name,
        "category": terms.category,
        "service_type": terms.service_type,
        "asset_symbol": terms.asset.symbol,
        "asset_address": terms.asset.address,
        "decimals": terms.asset.decimals,
        "rate_amount": str(terms.price.amount),
        "rate_unit": terms.price.unit,
        "tick_seconds": terms.tick_seconds,
        "grace_seconds": terms.grace_seconds,
        "budget": str(terms.cap),
    }


def _terms(row: SessionRow) -> SessionTerms:
    return SessionTerms(
        account=row.account,
        network=row.network,
        provider_url=row.provider_url,
        provider_name=row.provider_name,
        provider_address=row.provider_address,
        service_id=row.service_id,
        service_name=row.service_name,
        category=row.category,
        service_type=row.service_type,
        asset=Asset(row.asset_symbol, row.decimals, row.asset_address),
        price=Price(int(row.rate_amount), row.rate_unit),
        tick_seconds=row.tick_seconds,
        grace_seconds=row.grace_seconds,
        cap=int(row.budget),
        funding=row.funding,
        chain_id=row.chain_id,
        channel_id=row.channel_id,
        channel_base=int(row.channel_base),
        permission_id=row.zcash_permission_id,
    )


def _record(row: SessionRow) -> SessionRecord:
    return SessionRecord(
        local_id=row.local_id,
        terms=_terms(row),
        remote_id=row.remote_id,
        status=row.status,
        signed=int(row.signed),
        acked=int(row.acked),
        cost=int(row.cost),
        seconds=row.seconds,
        stop_reason=row.stop_reason,
        receipt=row.receipt,
        receipt_ok=row.receipt_ok,
        started_at=row.started_at,
        ended_at=row.ended_at,
        paid_ahead_credit=int(row.paid_ahead_credit),
    )


@dataclass(frozen=True)
class HistoryFilter:
    provider: str | None = None  # provider URL or name
    service: str | None = None  # service id or name
    status: str | None = None
    since: datetime | None = None  # started at or after
    until: datetime | None = None  # started before
    account: str | None = None
    text: str | None = None  # part of the provider's or the service's name, any case
    limit: int = 1000


@dataclass(frozen=True)
class ChannelsSeen:
    """What this app's sessions say about escrow channels (``SessionHistory.channels_seen``)."""

    provider_names: dict[str, str]  # provider address (lower case) → its name
    committed: dict[str, int]  # channel id (lower case) → what the sessions committed there
    paid_ahead: dict[str, int]  # channel id (lower case) → what the provider claimed beyond that


@dataclass(frozen=True)
class Rebooked:
    """A settlement the provider went back on (``SessionHistory.rebook_superseded``): it reports, as what it
    holds on the channel, ``held``, our own earlier voucher that a session's settled final voucher had
    replaced, above the ``settled`` total this app's books committed there; ``extra`` (held - settled) is
    now booked against ``record``, the session that signed that voucher."""

    record: SessionRecord  # as rebooked: its cost includes ``extra``, its receipt is no longer ok
    settled: int
    held: int

    @property
    def extra(self) -> int:
        return self.held - self.settled


class SessionHistory:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._spending = SpendingLog(store)

    @property
    def store(self) -> Store:
        return self._store

    # -- sessions ---------------------------------------------------------------------------------------
    def create(self, local_id: str, terms: SessionTerms, started_at: datetime) -> SessionRecord:
        """The session's row, written once its terms are decided and before anything reaches the
        provider: ``starting``, its vouchers counted from the channel's base."""
        base = str(terms.channel_base)
        with self._store.session() as s:
            row = SessionRow(
                local_id=local_id,
                status=SessionStatus.STARTING,
                started_at=started_at,
                signed=base,
                acked=base,
                **_columns(terms),
            )
            s.add(row)
            s.flush()
            return _record(row)

    def update(self, local_id: str, **values: Any) -> SessionRecord:
        with self._store.session() as s:
            row = self._row(s, local_id)
            for key, value in values.items():
                setattr(row, key, str(value) if key in _AMOUNT_FIELDS and value is not None else value)
            return _record(row)

    def get(self, local_id: str) -> SessionRecord | None:
        with self._store.session() as s:
            row = s.scalar(select(SessionRow).where(SessionRow.local_id == local_id))
            return _record(row) if row is not None else None

    def find(self, filters: HistoryFilter | None = None) -> list[SessionRecord]:
        """Newest first."""
        f = filters or HistoryFilter()
        query = select(SessionRow)
        if f.provider:
            query = query.where(
                (SessionRow.provider_url == f.provider) | (SessionRow.provider_name == f.provider)
            )
        if f.service:
            query = query.where((SessionRow.service_id == f.service) | (SessionRow.service_name == f.service))
        if f.status:
            query = query.where(SessionRow.status == str(f.status))
        if f.text:
            pattern = "%" + f.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            query = query.where(
                SessionRow.provider_name.ilike(pattern, escape="\\")
                | SessionRow.service_name.ilike(pattern, escape="\\")
                | SessionRow.provider_url.ilike(pattern, escape="\\")
            )
        if f.since is not None:
            query = query.where(SessionRow.started_at >= f.since)
        if f.until is not None:
            query = query.where(SessionRow.started_at < f.until)
        if f.account:
            query = query.where(func.lower(SessionRow.account) == f.account.lower())
        query = query.order_by(SessionRow.started_at.desc(), SessionRow.id.desc()).limit(f.limit)
        with self._store.session() as s:
            return [_record(r) for r in s.scalars(query).all()]

    def unfinished(self, account: str | None = None) -> list[SessionRecord]:
        """Sessions a crash may have left behind: starting, running, stopping or interrupted."""
        query = select(SessionRow).where(SessionRow.status.in_(OPEN_STATUSES))
        if account:
            query = query.where(func.lower(SessionRow.account) == account.lower())
        with self._store.session() as s:
            return [_record(r) for r in s.scalars(query.order_by(SessionRow.id)).all()]

    # -- vouchers ---------------------------------------------------------------------------------------
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
            conn.execute(_ADD_SPENDING, spending_values(_spending_entry(row, delta)))
            return delta

    def mark_delivered(self, local_id: str, cumulative: int) -> None:
        """Recovery learnt that the provider holds ``cumulative``: the vouchers up to it were delivered.

        A final voucher signed below an earlier one (the stop's, settling at the meter) is not among them:
        the provider holding more than it says it never took it (it may never have been sent), and only a
        receipt settled at it confirms it (``settle_final``). Marked, it would be the channel's newest
        confirmed voucher, and the cursor would drop below what the provider holds.

        Spending is settled separately (``settle_spending``)."""
        with self._store.session() as s:
            row = self._row(s, local_id)
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

        Spending is settled separately (``settle_spending``)."""
        with self._store.session() as s:
            row = self._row(s, local_id)
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
            row = self._row(s, local_id)
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
            s.add(_spending(row, extra))
            s.flush()
            return Rebooked(_record(row), settled, held)

    def channel_provider_urls(self, channel_id: str) -> list[str]:
        """The provider URLs this app's sessions on the channel used, the latest first."""
        query = (
            select(SessionRow.provider_url)
            .where(SessionRow.channel_id == channel_id)
            .order_by(SessionRow.started_at.desc())
        )
        with self._store.session() as s:
            return list(dict.fromkeys(str(url) for url in s.scalars(query).all()))

    def channels_seen(self, channels: Iterable[tuple[str, int, bool]]) -> ChannelsSeen:
        """For the Escrow page, in one read (SQL: off the GUI thread): the providers' names and, per
        ``(channel id, claimed on chain, closed)``, what this app's sessions committed there (0 once closed:
        the close settled it all) and what was paid ahead."""
        committed: dict[str, int] = {}
        credit: dict[str, int] = {}
        for channel_id, claimed, closed in channels:
            cid = channel_id.lower()
            committed[cid] = 0 if closed else self.channel_committed(cid)
            credit[cid] = self.paid_ahead_credit(cid, claimed)
        return ChannelsSeen(self.provider_names(), committed, credit)

    def provider_names(self) -> dict[str, str]:
        """Provider address (lower case) → the name its latest session gave it."""
        query = (
            select(SessionRow.provider_address, SessionRow.provider_name)
            .where(SessionRow.provider_address.is_not(None))
            .order_by(SessionRow.started_at)
        )
        with self._store.session() as s:
            return {str(address).lower(): str(name) for address, name in s.execute(query).all() if name}

    def remote_ids_on_channel(self, channel_id: str) -> set[str]:
        """The provider's session ids this app recorded on the channel."""
        query = select(SessionRow.remote_id).where(
            SessionRow.channel_id == channel_id, SessionRow.remote_id.is_not(None)
        )
        with self._store.session() as s:
            return {str(v) for v in s.scalars(query).all()}

    def open_on_channel(self, channel_id: str) -> list[SessionRecord]:
        query = select(SessionRow).where(
            SessionRow.channel_id == channel_id, SessionRow.status.in_(OPEN_STATUSES)
        )
        with self._store.session() as s:
            return [_record(r) for r in s.scalars(query).all()]

    def open_on_permission(self, provider_url: str, permission_id: str) -> list[SessionRecord]:
        """This app's unsettled sessions paid from a Zcash permission."""
        query = select(SessionRow).where(
            SessionRow.provider_url == provider_url,
            SessionRow.zcash_permission_id == permission_id,
            SessionRow.status.in_(OPEN_STATUSES),
        )
        with self._store.session() as s:
            return [_record(r) for r in s.scalars(query.order_by(SessionRow.id)).all()]

    def on_permission(self, provider_url: str, permission_id: str) -> list[SessionRecord]:
        """Every session of this app paid from a Zcash permission."""
        query = select(SessionRow).where(
            SessionRow.provider_url == provider_url, SessionRow.zcash_permission_id == permission_id
        )
        with self._store.session() as s:
            return [_record(r) for r in s.scalars(query.order_by(SessionRow.id)).all()]

    # -- spending ---------------------------------------------------------------------------------------
    def spent(self, local_id: str) -> int:
        with self._store.session() as s:
            row = self._row(s, local_id)
            giga, rem = s.execute(
                select(func.sum(SpendingRow.amount_giga), func.sum(SpendingRow.amount_rem)).where(
                    SpendingRow.session_id == row.id
                )
            ).one()
            return join_amount(giga, rem)

    def settle_spending(self, local_id: str, cost: int) -> int:
        """Add the correction that makes this session's spending rows sum to ``cost``; returns it."""
        with self._store.session() as s:
            row = self._row(s, local_id)
            giga, rem = s.execute(
                select(func.sum(SpendingRow.amount_giga), func.sum(SpendingRow.amount_rem)).where(
                    SpendingRow.session_id == row.id
                )
            ).one()
            delta = cost - join_amount(giga, rem)
            if delta > 0:
                s.add(_spending(row, delta))
            elif delta < 0:
                # More was recorded than the final cost: take the newest rows back down to it.
                excess = -delta
                rows = s.scalars(
                    select(SpendingRow)
                    .where(SpendingRow.session_id == row.id)
                    .order_by(SpendingRow.id.desc())
                ).all()
                for spending in rows:
                    amount = join_amount(spending.amount_giga, spending.amount_rem)
                    take = min(amount, excess)
                    spending.amount_giga, spending.amount_rem = divmod(amount - take, 10**9)
                    excess -= take
                    if excess == 0:
                        break
            return delta

    # -- internals --------------------------------------------------------------------------------------
    @staticmethod
    def _row(s: Any, local_id: str) -> SessionRow:
        row = s.scalar(select(SessionRow).where(SessionRow.local_id == local_id))
        if row is None:
            raise KeyError(local_id)
        return row


def final_vouchers(vouchers: Iterable[tuple[int, int, bool]]) -> set[int]:
    """The cumulatives of a session's final vouchers (``vouchers``: (seq, cumulative, acked) in order, as
    ``SessionHistory.vouchers`` gives them): each signed below an earlier voucher of the session, as the stop
    signs one settling at the meter below the voucher one tick ahead."""
    found: set[int] = set()
    signed_before = 0
    for _, cumulative, _ in vouchers:
        if cumulative < signed_before:
            found.add(cumulative)
        signed_before = max(signed_before, cumulative)
    return found


def _spending_entry(row: Any, amount: int) -> SpendingEntry:
    """A spending record of ``amount`` for the session ``row`` (its ORM row, or a Core row of
    ``_SPENDING_COLUMNS``)."""
    return SpendingEntry(
        account=row.account,
        network=row.network,
        funding=row.funding,
        asset_symbol=row.asset_symbol,
        asset_address=row.asset_address,
        decimals=row.decimals,
        provider_url=row.provider_url,
        provider_name=row.provider_name,
        service_id=row.service_id,
        service_name=row.service_name,
        category=row.category,
        amount=amount,
        session_id=row.id,
    )


def _spending(row: SessionRow, amount: int) -> SpendingRow:
    return spending_row(_spending_entry(row, amount))
