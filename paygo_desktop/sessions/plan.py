"""What a start needs: the provider's terms for one service, the ways to pay for it, and the user's choices.

``SessionEngine.plan`` builds a ``SessionPlan`` (network I/O); the start dialog shows it and answers with
``StartOptions``. Everything here is plain data: amounts are integer base units of ``SessionPlan.asset``.
"""

from __future__ import annotations

from dataclasses import dataclass

from paygo_desktop.errors import UserFacingError
from paygo_desktop.metering.meter import Price
from paygo_desktop.money import Asset
from paygo_desktop.protocol import models as m

FUNDING_KINDS = ("escrow", "zcash")


class SessionError(UserFacingError):
    """A session cannot start, run or stop as asked; the message says why in plain words."""


@dataclass(frozen=True)
class FundingOption:
    """One way to pay for a session."""

    kind: str  # "escrow" | "zcash"
    label: str  # "Escrow channel with <provider>: 4.20 USDC available"
    available: int | None  # base units usable now (None = unknown)
    needs_deposit: bool  # escrow: no channel yet or not enough; the start may fund/top up inline
    permission_id: str | None = None
    # Zcash permissions are billed at the permission's own rate, in ZEC: the option says so. None: the
    # plan's asset and price.
    asset: Asset | None = None
    price: Price | None = None
    allow_fallback: bool = False  # zcash: the user's standing choice (Zcash page) to continue on escrow
    wallet_holds: int | None = None  # escrow: what the account's wallet holds of the asset (None: unknown)


@dataclass(frozen=True)
class SessionPlan:
    provider_url: str
    provider: m.ProviderInfo
    service: m.Service
    asset: Asset
    price: Price
    tick_seconds: int
    grace_seconds: int
    options: tuple[FundingOption, ...]

    def seconds_for(self, budget: int) -> int:
        """Whole seconds that ``budget`` buys at the service's rate ("what the cap buys")."""
        return self.price.seconds_for(budget)

    def tick_cost(self) -> int:
        """What one tick costs: the least a channel must cover to start."""
        return self.price.cost_seconds(self.tick_seconds)

    def option(self, kind: str, permission_id: str | None = None) -> FundingOption | None:
        for option in self.options:
            if option.kind == kind and (permission_id is None or option.permission_id == permission_id):
                return option
        return None


@dataclass(frozen=True)
class StartOptions:
    funding: str  # "escrow" | "zcash"
    budget: int  # cap for this session, base units
    deposit: int = 0  # escrow: deposit/top-up to send on-chain before starting (0 = none)
    permission_id: str | None = None
    allow_fallback: bool = False  # zcash permission runs out -> continue on the escrow channel

    def __post_init__(self) -> None:
        if self.funding not in FUNDING_KINDS:
            raise SessionError(f"Unknown way to pay “{self.funding[:20]}”: choose escrow or zcash.")
        for name in ("budget", "deposit"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise SessionError(f"The {name} must be a whole, non-negative number of base units.")
        if self.budget == 0:
            raise SessionError("Set a budget above zero for this session.")
        if self.funding == "zcash" and not self.permission_id:
            raise SessionError("Choose the Zcash permission that pays for this session.")


def price_of(rate: m.Rate) -> Price:
    return Price(rate.amount, rate.unit.value)
