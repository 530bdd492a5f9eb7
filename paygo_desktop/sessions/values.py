"""Past sessions' costs in the user's display currency: each valued at the price in force when it ended.

``session_prices`` asks ``prices.history.PriceHistory.price_at_time`` for each session's asset at its end
(its start, for one that never ended), from the feeds of the network the sessions are read on. A session of
another chain, an asset without a feed, or a feed stale at that moment has no price (None): pages show "—"
and the CSV leaves the value empty with the reason, never a guess.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC

from paygo_desktop.prices.fiat import FiatPrice
from paygo_desktop.prices.history import PriceHistory
from paygo_desktop.sessions.session_record import SessionRecord


def valued_at(record: SessionRecord) -> int:
    """The moment (Unix seconds) a session's cost is valued at: its end, else its start."""
    moment = record.ended_at or record.started_at
    if moment.tzinfo is None:  # SQLite hands datetimes back without their zone: they are UTC
        moment = moment.replace(tzinfo=UTC)
    return int(moment.astimezone(UTC).timestamp())


async def session_prices(
    records: Iterable[SessionRecord], history: PriceHistory
) -> dict[str, FiatPrice | None]:
    """local id → the session's asset's price when it ended (None: no fresh price then, or another chain)."""
    prices: dict[str, FiatPrice | None] = {}
    for record in records:
        if record.terms.chain_id != history.chain_id or not record.cost:
            prices[record.local_id] = None
            continue
        prices[record.local_id] = await history.price_at_time(record.terms.asset, valued_at(record))
    return prices
