"""The lapsed check of every site at once: what the app runs when it opens and when its x402 payments are
listed, so that a payment left pending by a kill, or called failed by its server, is settled and booked
(or closed) as the chain says although that site is never paid again (the payer checks only the site it
is about to pay: ``x402.lapsed``).

Only the payments on ``network``'s chain are looked up; found spent, they are booked as the payer books
them (``x402.booking``). Without lapsed payments the node is not reached. With the node away or slow,
nothing changes and nothing is raised: they keep counting at their most, and are looked up next time."""

from __future__ import annotations

from functools import partial

from paygo_desktop.changes import NOTHING, X402_PAID, Changes
from paygo_desktop.networks import Network
from paygo_desktop.store.database import Store
from paygo_desktop.store.x402 import X402Store
from paygo_desktop.x402.booking import booking_rows
from paygo_desktop.x402.lapsed import LapsedCheck, settle_lapsed

FOUND_SPENT = X402_PAID  # marked settled and booked in Activity
CLOSED = Changes(x402=True)  # marked as never moving money


async def settle_every_lapsed(
    store: Store, network: Network, now: int, origin: str | None = None
) -> LapsedCheck:
    """Settle or close, as ``network``'s node says, every site's payments (``origin``'s only, when given)
    resting on the server's word whose authorization lapsed by ``now``."""
    booked = partial(booking_rows, network=network.key)
    return await settle_lapsed(X402Store(store), network.rpc_url, origin, now, booked=booked)


def changes_of(check: LapsedCheck) -> Changes:
    """What a check changed, for the views to read again."""
    return (FOUND_SPENT if check.found_spent else NOTHING) | (CLOSED if check.closed else NOTHING)
