"""The sessions' store repository: session rows, their filters, the channels and permissions they used, and
their spending records (the vouchers' side is voucher_book.VoucherBook, which SessionHistory extends).

Amounts are ints here and decimal strings in the table (they overflow SQLite's 64-bit integers). Spending
records follow the acks (each ack adds the delta the provider confirmed) and are settled at the end so that
a session's rows sum exactly to its final cost.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from paygo_desktop.sessions.session_record import (
    SessionRecord,
    row_of,
    session_columns,
    session_record,
    spending_of,
)
from paygo_desktop.sessions.status import OPEN_STATUSES, SessionStatus
from paygo_desktop.sessions.terms import SessionTerms
from paygo_desktop.sessions.voucher_book import VoucherBook
from paygo_desktop.store.database import Store
from paygo_desktop.store.models import SessionRow, SpendingRow
from paygo_desktop.store.spending import SpendingLog, join_amount

_AMOUNT_FIELDS = ("budget", "channel_base", "signed", "acked", "cost", "rate_amount", "paid_ahead_credit")


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


class SessionHistory(VoucherBook):
    def __init__(self, store: Store) -> None:
        super().__init__(store)
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
                **session_columns(terms),
            )
            s.add(row)
            s.flush()
            return session_record(row)

    def update(self, local_id: str, **values: Any) -> SessionRecord:
        with self._store.session() as s:
            row = row_of(s, local_id)
            for key, value in values.items():
                setattr(row, key, str(value) if key in _AMOUNT_FIELDS and value is not None else value)
            return session_record(row)

    def get(self, local_id: str) -> SessionRecord | None:
        with self._store.session() as s:
            row = s.scalar(select(SessionRow).where(SessionRow.local_id == local_id))
            return session_record(row) if row is not None else None

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
            return [session_record(r) for r in s.scalars(query).all()]

    def unfinished(self, account: str | None = None) -> list[SessionRecord]:
        """Sessions a crash may have left behind: starting, running, stopping or interrupted."""
        query = select(SessionRow).where(SessionRow.status.in_(OPEN_STATUSES))
        if account:
            query = query.where(func.lower(SessionRow.account) == account.lower())
        with self._store.session() as s:
            return [session_record(r) for r in s.scalars(query.order_by(SessionRow.id)).all()]

    # -- the channels and permissions the sessions used -------------------------------------------------
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

    def last_started_on_channel(self, channel_id: str) -> datetime | None:
        """When the latest session on the channel that its provider started (its id saved) was recorded;
        None if none was."""
        query = select(func.max(SessionRow.started_at)).where(
            SessionRow.channel_id == channel_id, SessionRow.remote_id.is_not(None)
        )
        with self._store.session() as s:
            return s.scalar(query)

    def open_on_channel(self, channel_id: str) -> list[SessionRecord]:
        query = select(SessionRow).where(
            SessionRow.channel_id == channel_id, SessionRow.status.in_(OPEN_STATUSES)
        )
        with self._store.session() as s:
            return [session_record(r) for r in s.scalars(query).all()]

    def open_on_permission(self, provider_url: str, permission_id: str) -> list[SessionRecord]:
        """This app's unsettled sessions paid from a Zcash permission."""
        query = select(SessionRow).where(
            SessionRow.provider_url == provider_url,
            SessionRow.zcash_permission_id == permission_id,
            SessionRow.status.in_(OPEN_STATUSES),
        )
        with self._store.session() as s:
            return [session_record(r) for r in s.scalars(query.order_by(SessionRow.id)).all()]

    def on_permission(self, provider_url: str, permission_id: str) -> list[SessionRecord]:
        """Every session of this app paid from a Zcash permission."""
        query = select(SessionRow).where(
            SessionRow.provider_url == provider_url, SessionRow.zcash_permission_id == permission_id
        )
        with self._store.session() as s:
            return [session_record(r) for r in s.scalars(query.order_by(SessionRow.id)).all()]

    # -- spending ---------------------------------------------------------------------------------------
    def spent(self, local_id: str) -> int:
        with self._store.session() as s:
            row = row_of(s, local_id)
            giga, rem = s.execute(
                select(func.sum(SpendingRow.amount_giga), func.sum(SpendingRow.amount_rem)).where(
                    SpendingRow.session_id == row.id
                )
            ).one()
            return join_amount(giga, rem)

    def settle_spending(self, local_id: str, cost: int) -> int:
        """Add the correction that makes this session's spending rows sum to ``cost``; returns it."""
        with self._store.session() as s:
            row = row_of(s, local_id)
            giga, rem = s.execute(
                select(func.sum(SpendingRow.amount_giga), func.sum(SpendingRow.amount_rem)).where(
                    SpendingRow.session_id == row.id
                )
            ).one()
            delta = cost - join_amount(giga, rem)
            if delta > 0:
                s.add(spending_of(row, delta))
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
