"""Planning a start: the provider's terms for one service and the ways this account can pay for it.

The plan reads the provider's info and the service, then for escrow the app's channel with the provider,
the vault's domain, the channel's state and the provider's cursor on it (what is available to spend), the
deposits into it already on their way (counted toward what a start needs, never made a second time), and
for Zcash the app's own record of each active permission with the provider. The channel and the domain
are carried in the plan (``SessionPlan.escrow``) into the start; what moves — the channel's state, the
provider's cursor, a permission's room — is read again by the start, which pays from it.
"""

from __future__ import annotations

from paygo_desktop.metering.meter import Price
from paygo_desktop.money import ZEC, Amount
from paygo_desktop.protocol.client import ProviderError
from paygo_desktop.sessions.channels import channel_base, provider_cursor
from paygo_desktop.sessions.escrow_chain import EscrowChain
from paygo_desktop.sessions.plan import EscrowFacts, FundingOption, SessionError, SessionPlan
from paygo_desktop.sessions.runtime import Runtime
from paygo_desktop.sessions.terms import Funding
from paygo_desktop.store.database import Store
from paygo_desktop.zcash import cross_check


class Planner:
    def __init__(self, rt: Runtime, chain: EscrowChain, store: Store) -> None:
        self.rt = rt
        self.chain = chain
        self.store = store

    async def plan(self, provider_url: str, service_id: str) -> SessionPlan:
        client = self.rt.client(provider_url)
        info = await client.provider_info()
        service = await client.get_service(service_id)
        if not service.is_active:
            raise SessionError(f"“{service.name}” is not available at the moment.")
        if service.rate.unit == "per_request":
            raise SessionError(
                f"“{service.name}” is paid per request with x402, not in a session: "
                "paygo-desktop x402 get <its URL>."
            )
        asset_info = next((a for a in info.assets if a.symbol == service.rate.asset), None)
        if asset_info is None:
            raise SessionError(
                f"{info.name} prices “{service.name}” in {service.rate.asset}, an asset it does not list."
            )
        asset = asset_info.asset
        if self.chain.matches(info):  # paid on chain: in the token as its contract describes it
            asset = await self.chain.checked_asset(info, asset)
        plan = SessionPlan(client.base_url, info, service, asset, options=())
        options: list[FundingOption] = []
        escrow: EscrowFacts | None = None
        if self.chain.matches(info):
            escrow = await self.chain.facts(info, plan.asset)
            options.append(await self._escrow_option(plan, escrow))
        if info.zcash:
            options.extend(await self._zcash_options(plan))
        if not options:
            raise SessionError(f"{self.chain.no_escrow_reason(info)} It offers no Zcash permission you hold.")
        return SessionPlan(plan.provider_url, info, service, plan.asset, tuple(options), escrow)

    async def _escrow_option(self, plan: SessionPlan, escrow: EscrowFacts) -> FundingOption:
        state, on_its_way = await self.chain.channel_now(escrow.channel)
        try:
            held = await provider_cursor(self.rt.client(plan.provider_url), escrow.channel, escrow.domain)
        except ProviderError:
            held = None
        room = max(0, state.coverage - channel_base(held, state.claimed))
        arriving = sum(d.amount for d in on_its_way if not d.landed)
        shown = Amount(plan.asset, room).format(max_decimals=6)
        label = (
            f"Escrow channel with {plan.provider.name}: {shown} available"
            if state.deposited
            else f"Escrow channel with {plan.provider.name}: not funded yet"
        )
        if arriving:
            label += f", a deposit of {Amount(plan.asset, arriving).format(max_decimals=6)} on its way"
        return FundingOption(
            Funding.ESCROW,
            label,
            room,
            needs_deposit=room + arriving < plan.tick_cost(),
            wallet_holds=await self.chain.wallet_holds(plan.asset),
            on_its_way=on_its_way,
        )

    async def _zcash_options(self, plan: SessionPlan) -> list[FundingOption]:
        own = await self.rt.db(cross_check.own_permissions, self.store, self.rt.account, plan.provider_url)
        return [
            FundingOption(
                Funding.ZCASH,
                f"Zcash permission {p.permission_id}: {Amount(ZEC, p.available_zat).format()} left",
                p.available_zat,
                needs_deposit=False,
                permission_id=p.permission_id,
                asset=ZEC,
                price=Price(p.rate_per_hour_zat, "per_hour"),
                allow_fallback=p.allow_fallback,
            )
            for p in own
        ]
