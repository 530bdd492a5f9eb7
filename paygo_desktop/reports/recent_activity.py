"""What happened lately, newest first, for Home: the sessions (started, what each cost), the on-chain
transactions this app sent (and how they ended), and the activity log's own lines (wallet unlocked, the
sandbox started, an x402 payment, a network switched).

Each line is read from the record that is the truth for it (a session's row, a transaction's row, the
activity log), not from a copy kept for Home: a session run from the command line, or settled by recovery
after a crash, shows here as it is booked. Lines of another network are left out (Home shows one network).

Much of a line is other machines' words, kept as they were given (a provider's and its service's names, a
stop reason, a node's error, a transaction's description naming the provider): each line is one line of
visible characters (``peer_text.one_line``: no line break, tab, bidi override or zero-width character),
each name at most ``peer_text.NAME_CHARS`` characters and each other part ``PART_CHARS``, cut with "…".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import or_, select

from paygo_desktop.metering.meter import short_duration
from paygo_desktop.money import Amount, Asset
from paygo_desktop.peer_text import shown
from paygo_desktop.store.database import Store
from paygo_desktop.store.models import ActivityRow, SessionRow, SessionStatus, TransactionRow

TRANSACTION_ENDS = {
    "pending": "sent, waiting to be mined",
    "mined": "mined",
    "confirmed": "confirmed",
    "failed": "failed on chain (nothing moved but the fee)",
    "replaced": "replaced by another transaction",
    "dropped": "dropped by the network",
    "old_chain": "on an earlier sandbox chain",
}
PART_CHARS = 160  # a stop reason, an error, a transaction's description, a logged line
SESSION_ENDS = {
    SessionStatus.STARTING: "starting",
    SessionStatus.RUNNING: "running",
    SessionStatus.STOPPING: "stopping",
    SessionStatus.INTERRUPTED: "interrupted, to be settled with the provider at the next start",
    SessionStatus.RECEIPT_INVALID: "stopped without a valid receipt",
}


@dataclass(frozen=True)
class RecentLine:
    at: datetime  # aware, UTC
    text: str
    is_error: bool = False


def recent_activity(store: Store, network: str, chain_id: int, limit: int = 12) -> list[RecentLine]:
    """The ``limit`` newest lines of ``network`` (``chain_id``), newest first."""
    with store.session() as s:
        logged = s.scalars(
            select(ActivityRow)
            .where(or_(ActivityRow.network.is_(None), ActivityRow.network == network))
            .order_by(ActivityRow.at.desc(), ActivityRow.id.desc())
            .limit(limit)
        ).all()
        sessions = s.scalars(
            select(SessionRow)
            .where(SessionRow.network == network)
            .order_by(SessionRow.started_at.desc(), SessionRow.id.desc())
            .limit(limit)
        ).all()
        sent = s.scalars(
            select(TransactionRow)
            .where(TransactionRow.chain_id == chain_id)
            .order_by(TransactionRow.id.desc())
            .limit(limit)
        ).all()
        lines = [RecentLine(_utc(r.at), shown(r.message, PART_CHARS), r.is_error) for r in logged]
        lines += [_session_line(r) for r in sessions]
        lines += [_transaction_line(r) for r in sent]
    lines.sort(key=lambda line: line.at, reverse=True)
    return lines[:limit]


def _session_line(row: SessionRow) -> RecentLine:
    what = f"{shown(row.service_name)} with {shown(row.provider_name)}"
    asset = Asset(row.asset_symbol, row.decimals, row.asset_address)
    cost = Amount(asset, int(row.cost)).approx()
    spent = f"{cost} for {short_duration(row.seconds)}" if row.seconds else cost
    status = row.status
    if status in (SessionStatus.STOPPED, SessionStatus.RECOVERED, SessionStatus.FAILED):
        how = spent
        if status is SessionStatus.FAILED and row.stop_reason:
            how += f"; stopped: {shown(row.stop_reason, PART_CHARS)}"
        return RecentLine(_utc(row.ended_at or row.started_at), f"Session: {what}, {how}", False)
    if status is SessionStatus.RECEIPT_INVALID:
        text = f"Session: {what}, {spent}, {SESSION_ENDS[status]}"
        return RecentLine(_utc(row.ended_at or row.started_at), text, True)
    text = f"Session: {what}, {SESSION_ENDS.get(status, status.value)}"
    return RecentLine(_utc(row.started_at), text, status is SessionStatus.INTERRUPTED)


def _transaction_line(row: TransactionRow) -> RecentLine:
    what = shown(row.description or row.kind, PART_CHARS)
    end = TRANSACTION_ENDS.get(row.status, row.status)
    text = f"Transaction: {what}, {end}"
    if row.status == "failed" and row.error:
        text += f" ({shown(row.error, PART_CHARS)})"
    return RecentLine(_utc(row.created_at), text, row.status in ("failed", "dropped"))


def _utc(at: datetime) -> datetime:
    """SQLite hands back naive datetimes for the UTC it was given."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
