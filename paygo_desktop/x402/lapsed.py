"""What the chain says about x402 payments whose outcome rests on the server's word once their authorization
has lapsed by the app's clock: left ``pending`` (the app was killed after sending one, or the server kept it
without answering), answered ``failed`` after it was sent (the server, or a transport error, said so), or
settled ``unused`` (an ``upto`` payment the server said it settled at nothing).

Such a payment counts at its most against the site's limits while its authorization is valid
(``X402Payment.may_still_move``): a hostile server can say "failed", keep the signed authorization and submit
it before it lapses. Past that, only the chain knows whether it moved money: the authorization's nonce is
spent on chain (EIP-3009's ``authorizationState`` for ``exact``, Permit2's nonce bitmap for ``upto``)
exactly when it did. So before the limits are checked, each such payment is looked up once: spent, it is
marked settled (``exact``: its amount; ``upto``: the amount is not known without its transaction, so it
counts at its signed maximum); unspent while the chain's own time is past its ``valid_before``, it can never
move: a pending one is marked failed, and each is marked ``never_moves`` (not counted, not asked again);
otherwise (the chain's clock behind the app's, the node not answering, or the payment on another chain than
the node's) it stays as it is and keeps counting at its most. The app itself never cancels an authorization
nor invalidates a Permit2 nonce, so a spent nonce is a payment made.
"""

from __future__ import annotations

import asyncio
from typing import Any

from eth_utils import to_checksum_address
from x402.mechanisms.evm.constants import AUTHORIZATION_STATE_ABI

from paygo_desktop.chain.permit2_nonces import nonce_spent
from paygo_desktop.store.x402 import FAILED, PENDING, SETTLED, X402Payment, X402Store
from paygo_desktop.x402.permit2 import PERMIT2

SPENT_NOTE = "the app lost track of it; the chain shows its authorization spent"
SAID_NOTE = "the server said it did not settle, yet the chain shows its authorization spent"
UNUSED_NOTE = "never settled: its authorization lapsed unused"


async def spent(w3: Any, payment: X402Payment) -> bool:
    """Whether ``payment``'s authorization nonce is spent on chain."""
    nonce = int(payment.nonce, 16)
    if payment.scheme == "exact":
        token = w3.eth.contract(address=to_checksum_address(payment.asset), abi=AUTHORIZATION_STATE_ABI)
        state = token.functions.authorizationState(payment.payer, nonce.to_bytes(32, "big"))
        return bool(await state.call())
    used = await nonce_spent(w3, PERMIT2, payment.payer, nonce)
    if used is None:  # the node failed, or no Permit2 there: unknown, so the payment keeps counting
        raise RuntimeError(f"no Permit2 answers at {PERMIT2}")
    return used


async def settle_lapsed(records: X402Store, rpc_url: str, origin: str, now: int) -> set[int]:
    """Settle or close, as the chain says, ``origin``'s payments resting on the server's word whose
    authorization lapsed by ``now``; the ids of those the chain could still move, or that could not be
    looked up: they keep counting at their most."""
    from paygo_desktop.chain.rpc import async_web3

    lapsed = [
        p
        for p in await asyncio.to_thread(records.payments, origin)
        if p.on_servers_word and p.valid_before <= now
    ]
    if not lapsed:
        return set()
    w3 = async_web3(rpc_url, timeout=15)
    try:
        chain = f"eip155:{await w3.eth.chain_id}"
        chain_now = int((await w3.eth.get_block("latest"))["timestamp"])
        found = [(p, await spent(w3, p)) for p in lapsed if p.network == chain]
    except Exception:  # the node away or not answering: every lapsed one still counts
        return {p.id for p in lapsed}
    finally:
        await w3.provider.disconnect()
    still = {p.id for p in lapsed if p.network != chain}  # another chain's: not known here
    for p, used in found:
        if used:
            moved = p.amount if p.scheme == "exact" else None  # upto: counted at its maximum
            note = SPENT_NOTE if p.status == PENDING else SAID_NOTE
            await asyncio.to_thread(records.finish, p.id, SETTLED, error=note, settled_amount=moved)
        elif chain_now > p.valid_before:
            if p.status == PENDING:
                await asyncio.to_thread(records.finish, p.id, FAILED, error=UNUSED_NOTE)
            await asyncio.to_thread(records.mark_never_moves, p.id)
        else:
            still.add(p.id)
    return still
