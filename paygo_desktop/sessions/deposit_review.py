"""What a deposit into a session's channel will do, for the question asked before anything is signed (the
headless ``session start --deposit``): the amount, the vault, the channel and its provider, and the most the
network fees can cost, as a ``FeeLimit`` the deposit is then held to.

A token deposit whose allowance is short takes two transactions, and the second (the deposit) cannot be
estimated before the first (the approval) is mined: it is counted at ``DEPOSIT_AFTER_APPROVAL_GAS``, and
refused unsigned if it would need more.
"""

from __future__ import annotations

from dataclasses import dataclass

from paygo_desktop.money import ETH, Amount
from paygo_desktop.peer_text import shown
from paygo_desktop.sessions.escrow_chain import EscrowChain
from paygo_desktop.sessions.fee_limit import FeeLimit
from paygo_desktop.sessions.plan import SessionError, SessionPlan

# The vault's fund() after an approval: about 110,000 gas for a channel's first deposit of the sandbox's
# USDC; room for a token whose transfer costs more.
DEPOSIT_AFTER_APPROVAL_GAS = 300_000


@dataclass(frozen=True)
class DepositReview:
    amount: Amount
    provider: str  # the provider's name as it gave it (shown on one line, cut)
    provider_address: str  # the channel's payee
    vault: str
    channel_id: str
    approval: bool  # the vault's allowance is short: an approval goes first
    limit: FeeLimit

    def lines(self) -> list[str]:
        steps = (
            f"an approval for the vault to take {self.amount.format()}, then the deposit"
            if self.approval
            else "the deposit"
        )
        return [
            f"Deposit {self.amount.format()} into the escrow channel with {shown(self.provider)} "
            f"({self.provider_address}).",
            f"Vault contract {self.vault}, channel {self.channel_id}.",
            f"Transactions: {steps}. Network fees: at most "
            f"{Amount(ETH, self.limit.total).format(max_decimals=8)} in all.",
        ]


async def review_deposit(chain: EscrowChain, plan: SessionPlan, amount: int) -> DepositReview:
    """The review of a deposit of ``amount`` into ``plan``'s channel, its first transaction quoted now."""
    if plan.escrow is None or chain.vault_address is None:
        raise SessionError(chain.no_escrow_reason(plan.provider))
    requests = await chain.deposit_requests(plan, amount)
    first = await chain.transaction_manager().quote(chain.account, requests[0])
    gas = first.gas_limit + DEPOSIT_AFTER_APPROVAL_GAS * (len(requests) - 1)
    return DepositReview(
        amount=Amount(plan.asset, amount),
        provider=plan.provider.name,
        provider_address=plan.escrow.channel.provider,
        vault=chain.vault_address,
        channel_id=plan.escrow.channel_id,
        approval=len(requests) > 1,
        limit=FeeLimit(max_fee_per_gas=first.max_fee_per_gas, total=gas * first.max_fee_per_gas),
    )
