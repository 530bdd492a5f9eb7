"""The voucher path's statements (``Store.hot_tx``): the session row with its channel's refusal, the
session's and the channel's writes, and an expiry noticed there."""

from __future__ import annotations

from typing import NamedTuple

from paygo_desktop.protocol import models as m

LIVE = m.SessionStatus.live.value


_LIVE_SQL, _EXPIRED_SQL = f"'{LIVE}'", f"'{m.SessionStatus.expired.value}'"


class VoucherRow(NamedTuple):
    status: str
    started_at: float
    served_until: float
    grace_seconds: int
    tick_seconds: int
    rate_amount: str
    rate_unit: str
    asset: str
    start_cumulative: str
    cumulative: str
    seq: int
    channel_id: str
    refused: str | None


# The voucher path's statements (Store.hot_tx): the session with its channel's refusal, then two writes;
# an expiry noticed there ends the session at servedUntil + grace and frees its channel.
VOUCHER_ROW = (
    "SELECT s.status, s.started_at, s.served_until, s.grace_seconds, s.tick_seconds, s.rate_amount, "
    "s.rate_unit, s.asset, s.start_cumulative, s.cumulative, s.seq, s.channel_id, r.channel_id "
    "FROM provider_sessions s LEFT OUTER JOIN provider_refused_channels r ON r.channel_id = s.channel_id "
    "WHERE s.id = :sid"
)
SET_SESSION = (
    "UPDATE provider_sessions SET seq = :seq, cumulative = :cum, served_until = :until WHERE id = :sid"
)
SET_CHANNEL = (
    "UPDATE provider_channels SET last_cumulative = :cum, last_signature = :sig, last_seq = :seq "
    "WHERE id = :cid"
)
EXPIRE_SESSION = (
    f"UPDATE provider_sessions SET status = {_EXPIRED_SQL}, ended_at = :ended "
    f"WHERE id = :sid AND status = {_LIVE_SQL}"
)
FREE_CHANNEL = (
    "UPDATE provider_channels SET live_session_id = NULL WHERE id = :cid AND live_session_id = :sid"
)
