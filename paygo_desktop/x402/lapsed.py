"""What the chain says about x402 payments left ``pending`` once their authorization has lapsed by the app's
clock: the app was killed after sending one, or the server kept it without answering.

A pending payment counts at its most against the site's limits while its authorization is valid
(``X402Payment.may_still_move``). Past that, only the chain knows whether it moved money: the authorization's
nonce is spent on chain (EIP-3009's ``authorizationState`` for ``exact``, Permit2's nonce bitmap for
``upto``) exactly when it did. So before the limits are checked, each such payment is looked up: spent, it
is marked settled (``exact``: its amount; ``upto``: the amount is not known without its transaction, so it
counts at its signed maximum); unspent while the chain's own time is past its ``valid_before``, it can
never move and is marked failed; otherwise (the chain's clock behind the app's, or the node not answering)
it stays pending and keeps counting at its most. The app itself never cancels an authorization nor
invalidates a Permit2 nonce, so a spent nonce is a payment made.
"""

from __future__ import annotations

import asyncio
from typing import Any

from eth_utils import to_checksum_address
from x402.mechanisms.evm.constants import AUTHORIZATION_STATE_ABI

from paygo_desktop.store.x402 import FAILED, PENDING, SETTLED, X402Payment, X402Store
from paygo_desktop.x402.permit2 import PERMIT2

NONCE_BITMAP_ABI = [
    {
        "inputs": [{"name": "owner", "type": "address"}, {"name": "wordPos", "type": "uint256"}],
        "name": "nonceBitmap",
        "outputs": [{"name": "", "type": "uint256"}],
        "stateMutability": "view",
        "type": "function",
    }
]
SPENT_NOTE = "the app lost track of it; the chain shows its authorization spent"


async def spent(w3: Any, payment: X402Payment) -> bool:
    """Whether ``payment``'s authorization nonce is spent on chain."""
    nonce = int(payment.nonce, 16)
    if payment.scheme == "exact":
        token = w3.eth.contract(address=to_checksum_address(payment.asset), abi=AUTHORIZATION_STATE_ABI)
        state = token.functions.authorizationState(payment.payer, nonce.to_bytes(32, "big"))
        return bool(await state.call())
    permit2 = w3.eth.contract(address=PERMIT2, abi=NONCE_BITMAP_ABI)
    word = await permit2.functions.nonceBitmap(payment.payer, nonce >> 8).call()
    return bool((int(word) >> (nonce & 0xFF)) & 1)


async def settle_lapsed(records: X402Store, rpc_url: str, origin: str, now: int) -> set[int]:
    """Mark ``origin``'s pending payments lapsed by ``now`` as the chain says; the ids of those still
    pending (the chain could still move them, or could not be read): they keep counting at their most."""
    from paygo_desktop.chain.rpc import async_web3

    lapsed = [
        p
        for p in await asyncio.to_thread(records.payments, origin)
        if p.status == PENDING and p.valid_before <= now
    ]
    if not lapsed:
        return set()
    w3 = async_web3(rpc_url, timeout=15)
    try:
        chain_now = int((await w3.eth.get_block("latest"))["timestamp"])
        found = [(p, await spent(w3, p)) for p in lapsed]
    except Exception:  # the node away or not answering: every lapsed one still counts
        return {p.id for p in lapsed}
    finally:
        await w3.provider.disconnect()
    still: set[int] = set()
    for p, used in found:
        if used:
            moved = p.amount if p.scheme == "exact" else None  # upto: counted at its maximum
            await asyncio.to_thread(records.finish, p.id, SETTLED, error=SPENT_NOTE, settled_amount=moved)
        elif chain_now > p.valid_before:
            error = "never settled: its authorization lapsed unused"
            await asyncio.to_thread(records.finish, p.id, FAILED, error=error)
        else:
            still.add(p.id)
    return still
