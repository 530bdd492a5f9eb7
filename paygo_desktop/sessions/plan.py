"""What a start needs: the provider's terms for one service, the ways to pay for it, and the user's choices.

The planner (``planner.Planner``) builds a ``SessionPlan`` (network I/O); the start flow shows it and
answers with ``StartOptions``. What the plan learnt that does not move — the provider, the service, the
app's channel with the provider and the vault's domain — is carried into the start, which does not fetch
it again. Everything here is plain data: amounts are integer base units of ``SessionPlan.asset``.
"""

from __future__ import annotations

from dataclasses import dataclass

from paygo_desktop.chain.vouchers import Channel, VaultDomain
from paygo_desktop.errors import UserFacingError
from paygo_desktop.metering.meter import Price
from paygo_desktop.money import Asset
from paygo_desktop.protocol import models as m
from paygo_desktop.sessions.fee_limit import FeeLimit
from paygo_desktop.sessions.terms import Funding, SessionTerms, rate_text


class SessionError(UserFacingError):
    """A session cannot start, run or stop as asked; the message says why in plain words."""


def price_of(rate: m.Rate) -> Price:
    return Price(rate.amount, rate.unit.value)


@dataclass(frozen=True)
class DepositOnItsWay:
    """A deposit into the plan's channel this app stored and signed that the channel's state, as the plan
    read it, did not hold yet: sent and not yet in a block, or stored by a run killed before sending it
    (healing sends those again, unchanged). ``resent``: an earlier run's, sent again by this run's heal
    (``landed`` in the state already, or not). ``earlier_start``: a start's own deposit, stored before
    any session the provider started on the channel since, so no session has used it: it counts toward
    the next start's deposit, landed or not (the store says so, whichever run sent it, however many runs
    were killed in between)."""

    tx_hash: str
    amount: int  # base units of the plan's asset
    landed: bool = False  # in a block at or under the one the plan read the channel's state at
    resent: bool = False
    earlier_start: bool = False


@dataclass(frozen=True)
class FundingOption:
    """One way to pay for a session."""

    kind: Funding
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
    # escrow: deposits into the channel stored by this app and on their way (or sent again from an earlier
    # run); ``arriving`` of them is not in ``available`` yet and is counted toward the funds a start needs
    on_its_way: tuple[DepositOnItsWay, ...] = ()

    @property
    def arriving(self) -> int:
        """Deposits on their way that ``available`` does not hold yet (base units)."""
        return sum(d.amount for d in self.on_its_way if not d.landed)

    @property
    def in_sight(self) -> int:
        """What the channel will hold for new sessions once the deposits on their way are in."""
        return (self.available or 0) + self.arriving


@dataclass(frozen=True)
class EscrowFacts:
    """The app's escrow channel with the provider (the first of its channels not closed on chain) and the
    vault's EIP-712 domain, as the plan found them."""

    channel: Channel
    domain: VaultDomain

    @property
    def channel_id(self) -> str:
        return "0x" + self.channel.id.hex()


@dataclass(frozen=True)
class SessionPlan:
    provider_url: str
    provider: m.ProviderInfo
    service: m.Service
    asset: Asset
    options: tuple[FundingOption, ...]
    escrow: EscrowFacts | None = None  # None: escrow is not possible with this provider here

    @property
    def price(self) -> Price:
        return price_of(self.service.rate)

    @property
    def tick_seconds(self) -> int:
        return self.service.tick_seconds

    @property
    def grace_seconds(self) -> int:
        return self.service.grace_seconds

    def seconds_for(self, budget: int) -> int:
        """Whole seconds that ``budget`` buys at the service's rate ("what the cap buys")."""
        return self.price.seconds_for(budget)

    def tick_cost(self) -> int:
        """What one tick costs: the least a channel must cover to start."""
        return self.price.cost_seconds(self.tick_seconds)

    def rate_text(self, rate: m.Rate | None = None) -> str:
        """The service's rate (or ``rate``, as a provider wrote it) for a person: "0.001 USDC per second"."""
        rate = rate or self.service.rate
        return rate_text(Asset(rate.asset, self.asset.decimals, self.asset.address), price_of(rate))

    def option(self, kind: str, permission_id: str | None = None) -> FundingOption | None:
        for option in self.options:
            if option.kind == kind and (permission_id is None or option.permission_id == permission_id):
                return option
        return None

    def terms(
        self,
        *,
        account: str,
        network: str,
        funding: Funding,
        cap: int,
        asset: Asset | None = None,
        price: Price | None = None,
        chain_id: int | None = None,
        channel_base: int = 0,
        permission_id: str | None = None,
    ) -> SessionTerms:
        """The one place a session's terms are written: this plan's provider and service, paid as decided
        at the start (``asset`` and ``price``: a Zcash permission's own; else the service's)."""
        return SessionTerms(
            account=account,
            network=network,
            provider_url=self.provider_url,
            provider_name=self.provider.name,
            provider_address=self.provider.pay_to,
            service_id=self.service.id,
            service_name=self.service.name,
            category=self.service.category,
            service_type=self.service.type.value,
            asset=asset or self.asset,
            price=price or self.price,
            tick_seconds=self.tick_seconds,
            grace_seconds=self.grace_seconds,
            cap=cap,
            funding=funding,
            chain_id=chain_id,
            channel_id=self.escrow.channel_id if funding is Funding.ESCROW and self.escrow else None,
            channel_base=channel_base,
            permission_id=permission_id,
        )


@dataclass(frozen=True)
class StartOptions:
    funding: Funding
    budget: int  # cap for this session, base units
    deposit: int = 0  # escrow: deposit/top-up to send on-chain before starting (0 = none)
    permission_id: str | None = None
    allow_fallback: bool = False  # zcash permission runs out -> continue on the escrow channel
    deposit_fees: FeeLimit | None = None  # escrow: the most the deposit's fees may cost, as agreed to

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "funding", Funding(self.funding))
        except ValueError:
            raise SessionError(
                f"Unknown way to pay “{str(self.funding)[:20]}”: choose escrow or zcash."
            ) from None
        for name in ("budget", "deposit"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise SessionError(f"The {name} must be a whole, non-negative number of base units.")
        if self.budget == 0:
            raise SessionError("Set a budget above zero for this session.")
        if self.funding is Funding.ZCASH and not self.permission_id:
            raise SessionError("Choose the Zcash permission that pays for this session.")
