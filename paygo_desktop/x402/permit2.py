"""The wallet's ERC-20 allowance to Permit2, through which x402's ``upto`` scheme is paid.

An ``upto`` payment is a Permit2 signature for a maximum; Permit2 then pulls what the server settles with
``transferFrom``, so the token needs an allowance from the payer to Permit2 first. The wallet gives it in one
of two bounded ways, never unlimited: the user approves an amount they choose
(``paygo-desktop x402 approve-permit2 --amount A``, a transaction of their own), or, when the server offers
x402's EIP-2612 gas-sponsoring extension, the payer signs an EIP-2612 permit for exactly the payment's
maximum, which the facilitator submits with the settlement.
"""

from __future__ import annotations

from typing import Any

from eth_abi import encode as abi_encode
from eth_utils import keccak, to_checksum_address
from x402.mechanisms.evm.constants import PERMIT2_ADDRESS

from paygo_desktop.chain.transactions import TxRequest
from paygo_desktop.chain.vault import ERC20_MIN_ABI
from paygo_desktop.errors import UserFacingError
from paygo_desktop.money import Amount, Asset

PERMIT2 = to_checksum_address(PERMIT2_ADDRESS)
MAX_APPROVAL = 2**128  # an approval this large is "unlimited" in all but name: refused
_APPROVE = keccak(text="approve(address,uint256)")[:4]


async def allowance(w3: Any, owner: str, token: str) -> int:
    """Base units of ``token`` Permit2 may take from ``owner`` now."""
    contract = w3.eth.contract(address=to_checksum_address(token), abi=ERC20_MIN_ABI)
    return int(await contract.functions.allowance(to_checksum_address(owner), PERMIT2).call())


def approve_request(asset: Asset, amount: int) -> TxRequest:
    """The transaction letting Permit2 take at most ``amount`` of ``asset`` (0 takes the allowance back).
    It replaces the earlier allowance; an unbounded one is refused."""
    if not asset.address:
        raise UserFacingError(f"{asset.symbol} is the chain's own coin: Permit2 moves tokens only.")
    if not 0 <= amount < MAX_APPROVAL:
        raise UserFacingError(
            "Give Permit2 a bounded allowance (what your x402 payments may take before you approve again)."
        )
    shown = Amount(asset, amount).format()
    what = (
        f"Let Permit2 take up to {shown} for x402 payments you sign"
        if amount
        else f"Take back Permit2's allowance of {asset.symbol}"
    )
    return TxRequest(
        to=to_checksum_address(asset.address),
        data=_APPROVE + abi_encode(["address", "uint256"], [PERMIT2, amount]),
        kind="approve",
        description=what,
    )
