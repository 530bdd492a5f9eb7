"""One paid call to a provider's per-request service (``per_request`` in its catalog), as the Services page
makes it: the price the user saw is the cap (a quote above it is refused unsigned), the call itself the
confirmation. It runs on the app's event loop (the payer does its SQL and signing in worker threads), so
quitting can end it: in a worker thread of its own, the loop's exit waited for it however long the server
took."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from paygo_desktop.money import Amount, Asset
from paygo_desktop.networks import Network
from paygo_desktop.store.database import Store
from paygo_desktop.x402.limits import Quote
from paygo_desktop.x402.payer import PaidResponse, X402Payer
from paygo_desktop.x402.session_offer import SessionAccess

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

SERVICE_PATH = "/api/v1/x402/{service_id}/"  # protocol.routes.X402_ACCESS, with its trailing slash


@dataclass(frozen=True)
class OneOffCall:
    provider_url: str
    service_id: str
    price: Amount  # what the catalog shows for one request: the most that is paid
    path: str = ""  # below the service, e.g. "today?city=Oslo"

    @property
    def url(self) -> str:
        return (
            self.provider_url.rstrip("/")
            + SERVICE_PATH.format(service_id=self.service_id)
            + self.path.lstrip("/")
        )


async def call_paid(
    call: OneOffCall,
    store: Store,
    account: LocalAccount,
    network: Network,
    assets: tuple[Asset, ...],
    sessions: SessionAccess | None = None,
    on_change: Callable[[], None] | None = None,
) -> PaidResponse:
    """Make ``call``; with ``sessions``, through a running session of the provider's that serves the same
    upstream, unpaid, when there is one. ``on_change``: told when a payment was written (``X402Payer``)."""

    async def confirmed(quote: Quote) -> bool:  # the user pressed "Pay and call" at this price
        return quote.amount <= call.price.units

    payer = X402Payer(
        store, account, network, assets, confirm=confirmed, sessions=sessions, on_change=on_change
    )
    return await payer.request("GET", call.url, max_amount=call.price.format(symbol=False, grouping=False))
