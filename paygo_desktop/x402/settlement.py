"""What the chain says of an x402 payment's settlement: whether its authorization is spent, whether a given
transaction is the one that settled it, and what that moved from the payer to the payee (the token's
``Transfer`` events in its receipt).

A server answers "settled" with a transaction hash, and an ``upto`` server says how much it took. Neither is
believed on its word: a hostile server could name an EARLIER settlement of the same payer to the same payee
and keep this payment's authorization, still valid, to submit later. So the payer (``x402.payer``) books a
payment settled only when ``settlement_shown`` finds, on chain, that the named transaction succeeded and
settled THIS authorization, and the authorization is spent:
- ``exact``: the token logged ``AuthorizationUsed(payer, nonce)`` and a ``Transfer`` of exactly the amount
  from the payer to payTo in it, and the token's ``authorizationState`` says the nonce is used;
- ``upto``: the transaction is a call to x402's upto proxy whose decoded input names this permit's nonce
  and owner (``chain.upto_settle_calls``), and Permit2's nonce bitmap has the nonce spent; what it moved is
  read from its receipt.
Otherwise the payment stays on the server's word, counted at its most, until ``x402.lapsed`` asks the chain
after its authorization lapsed. The same readings serve that check.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Any

from eth_utils import keccak, to_checksum_address
from web3.exceptions import TransactionNotFound
from x402.mechanisms.evm.constants import AUTHORIZATION_STATE_ABI

from paygo_desktop.chain.erc20_transfers import address_topic, moved, transfers
from paygo_desktop.chain.log_decoding import as_bytes
from paygo_desktop.chain.permit2_nonces import nonce_spent
from paygo_desktop.chain.upto_settle_calls import UPTO_PROXY, upto_settle_call
from paygo_desktop.store.x402 import X402Payment
from paygo_desktop.x402.permit2 import PERMIT2

TX_HASH = re.compile(r"0x[0-9a-fA-F]{64}")
AUTHORIZATION_USED = "0x" + keccak(text="AuthorizationUsed(address,bytes32)").hex()  # EIP-3009's event
# a node a block behind the server's facilitator may not have the receipt yet: asked again for this long
RECEIPT_WAIT_SECONDS = 6.0
RECEIPT_POLL_SECONDS = 1.0


@dataclass(frozen=True)
class Shown:
    """What the chain shows of a transaction named as a payment's settlement: ``moved``, the base units it
    moved from the payer to payTo as this payment's settlement, or None with ``why`` it is not shown to be."""

    moved: int | None
    why: str = ""


async def moved_on_chain(w3: Any, tx_hash: str, token: str, payer: str, pay_to: str) -> int | None:
    """Base units of ``token`` the successful transaction ``tx_hash`` moved from ``payer`` to ``pay_to``;
    None when that cannot be read (no such hash, no receipt yet, a failed transaction, the node away)."""
    if not TX_HASH.fullmatch(tx_hash):
        return None
    try:
        receipt = await w3.eth.get_transaction_receipt(tx_hash)
    except Exception:
        return None
    if receipt is None or int(receipt["status"]) != 1:
        return None
    return moved(receipt["logs"], token, payer, pay_to)


async def authorization_spent(w3: Any, payment: X402Payment) -> bool:
    """Whether ``payment``'s authorization nonce is spent on chain (EIP-3009's ``authorizationState`` for
    ``exact``, Permit2's nonce bitmap for ``upto``); raises when the chain cannot say."""
    nonce = int(payment.nonce, 16)
    if payment.scheme == "exact":
        token = w3.eth.contract(address=to_checksum_address(payment.asset), abi=AUTHORIZATION_STATE_ABI)
        state = token.functions.authorizationState(payment.payer, nonce.to_bytes(32, "big"))
        return bool(await state.call())
    used = await nonce_spent(w3, PERMIT2, payment.payer, nonce)
    if used is None:  # the node failed, or no Permit2 there: unknown
        raise RuntimeError(f"no Permit2 answers at {PERMIT2}")
    return used


async def settles_permit(w3: Any, tx_hash: str, payment: X402Payment) -> bool:
    """Whether ``tx_hash`` is x402's upto proxy settling ``payment``'s permit (its nonce, for its payer)."""
    tx = await w3.eth.get_transaction(tx_hash)
    if str(tx.get("to") or "").lower() != UPTO_PROXY.lower():
        return False
    call = upto_settle_call(bytes(tx["input"]))
    return call is not None and call[0] == int(payment.nonce, 16) and call[1].lower() == payment.payer.lower()


def uses_authorization(receipt: Any, payment: X402Payment) -> bool:
    """Whether the token logged, in ``receipt``, ``AuthorizationUsed`` of ``payment``'s payer and nonce and a
    ``Transfer`` of exactly its amount from the payer to payTo (an ``exact`` payment's settlement)."""
    token = payment.asset.lower()
    wanted = [AUTHORIZATION_USED, address_topic(payment.payer), payment.nonce.lower()]
    used = any(
        str(entry["address"]).lower() == token
        and ["0x" + as_bytes(t).hex() for t in entry["topics"]][:3] == wanted
        for entry in receipt["logs"]
    )
    return used and payment.amount in transfers(receipt["logs"], token, payment.payer, payment.pay_to)


async def settlement_shown(w3: Any, tx_hash: str, payment: X402Payment) -> Shown:
    """Whether the chain shows ``tx_hash`` settling ``payment`` (see the module's words), and what it moved.
    Never raises: a node that does not answer shows nothing."""
    if not TX_HASH.fullmatch(tx_hash):
        return Shown(None, "that is not a transaction hash")
    try:
        receipt = await _receipt(w3, tx_hash)
        if receipt is None:
            return Shown(None, "the node shows no such transaction")
        if int(receipt["status"]) != 1:
            return Shown(None, "that transaction failed")
        if payment.scheme == "exact":
            if not uses_authorization(receipt, payment):
                return Shown(None, "that transaction did not use this payment's authorization")
            taken = payment.amount
        else:
            if not await settles_permit(w3, tx_hash, payment):
                return Shown(None, "that transaction did not settle this payment's permit")
            taken = moved(receipt["logs"], payment.asset, payment.payer, payment.pay_to)
        if not await authorization_spent(w3, payment):
            return Shown(None, "the chain shows this payment's authorization unspent")
    except Exception as exc:  # the node away or failing: not shown
        return Shown(None, f"the node did not answer ({type(exc).__name__})")
    return Shown(taken)


async def _receipt(w3: Any, tx_hash: str) -> Any:
    """The transaction's receipt, asked again for ``RECEIPT_WAIT_SECONDS`` while the node has none."""
    waited = 0.0
    while True:
        try:
            receipt = await w3.eth.get_transaction_receipt(tx_hash)
        except TransactionNotFound:
            receipt = None
        if receipt is not None or waited >= RECEIPT_WAIT_SECONDS:
            return receipt
        await asyncio.sleep(RECEIPT_POLL_SECONDS)
        waited += RECEIPT_POLL_SECONDS
