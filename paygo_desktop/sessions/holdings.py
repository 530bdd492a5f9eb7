"""Before a start: does the account hold the token the service is priced in?

A service may be priced in any token its provider lists (USDT, DAI, a 2-decimal GUSD…). When the escrow
channel does not hold enough and the wallet holds less than the deposit it would need, the start dialog
says so before anything is signed, with the token's symbol and where to get it, instead of failing at the
deposit's transaction.
"""

from __future__ import annotations

from paygo_desktop.money import Amount, Asset
from paygo_desktop.sessions.plan import FundingOption
from paygo_desktop.sessions.terms import Funding


def holding_problem(
    asset: Asset, option: FundingOption | None, deposit: int, provider_name: str
) -> str | None:
    """Why a start paid from ``option`` (the escrow channel) cannot be funded from this account's wallet
    (``option.wallet_holds``: what it holds of ``asset``; None: not known), or None."""
    if option is None or option.kind is not Funding.ESCROW or option.wallet_holds is None:
        return None
    held = option.wallet_holds
    if held == 0 and not option.available and option.needs_deposit:
        return (
            f"This service is priced in {asset.symbol}, and this account holds none (nor does its channel "
            f"with {provider_name}). Get some {asset.symbol} first: Escrow → Receive shows your address."
        )
    if deposit > held:
        return (
            f"This account holds {Amount(asset, held).format()}; the deposit needs "
            f"{Amount(asset, deposit).format()}. Lower it, or get more {asset.symbol} first."
        )
    return None
