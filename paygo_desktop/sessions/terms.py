"""One session's terms, written once: what it was started under, from the provider and the service to the
money that pays for it.

``SessionTerms`` is built once, when a payer has decided the session's cap (``SessionPlan.terms``), and is
then only read: the store keeps it as the session's row (``history``), the live session and the payers
hold it, the history and the GUI show it. Amounts are integer base units of ``asset``.
"""

from __future__ import annotations

from dataclasses import dataclass

from paygo_desktop.metering.meter import Price
from paygo_desktop.metering.signing_limit import Terms
from paygo_desktop.money import Amount, Asset
from paygo_desktop.store.models import Funding

__all__ = ["Funding", "SessionTerms", "rate_text"]

UNIT_WORDS = {"per_second": "second", "per_minute": "minute", "per_hour": "hour"}


def rate_text(asset: Asset, price: Price) -> str:
    """ "0.001 USDC per second"."""
    return f"{Amount(asset, price.amount).format()} per {UNIT_WORDS.get(price.unit, price.unit)}"


@dataclass(frozen=True)
class SessionTerms:
    account: str
    network: str  # the network's key
    provider_url: str
    provider_name: str
    provider_address: str | None  # the provider's payTo (escrow)
    service_id: str
    service_name: str
    category: str
    service_type: str
    asset: Asset
    price: Price  # the service's rate; a Zcash permission's own, as agreed when it was bought
    tick_seconds: int
    grace_seconds: int
    cap: int  # what the meter stops at: the user's budget, or less when the channel or permission holds less
    funding: Funding
    chain_id: int | None = None  # escrow
    channel_id: str | None = None  # escrow: 0x… of the app's channel with the provider
    channel_base: int = 0  # escrow: the channel's cumulative this session's vouchers start from
    permission_id: str | None = None  # zcash

    @property
    def catalog(self) -> Terms:
        """The catalog's rate, tick and grace, as the signing limit holds them (``TermsRefused`` outside
        the bounds PayGo pays under)."""
        return Terms(self.price, self.tick_seconds, self.grace_seconds)

    @property
    def tick_cost(self) -> int:
        return self.price.cost_seconds(self.tick_seconds)

    @property
    def rate_text(self) -> str:
        return rate_text(self.asset, self.price)

    def amount(self, units: int) -> str:
        """``units`` of the session's asset, for a person: "0.25 USDC"."""
        return Amount(self.asset, units).format()
