"""What only the chain can say about an x402 ``upto`` payment's proof file (``receipts.x402_upto_proof``),
with a node the user names.

* The node is the proof's chain.
* The settlement transaction succeeded, and the token logged in it ``Transfer``\\s from the payer to payTo,
  together exactly the settled amount (read as ``x402.settlement`` reads what the payer records).
* The transaction is x402's upto proxy settling this authorization: its input, decoded with the SDK's ABI,
  is ``settle`` (or ``settleWithPermit``) of this permit's nonce for this owner and the settled amount (a
  settlement sent through another contract: said, not failed; the Transfer and the nonce still tell).
* Permit2's ``nonceBitmap(payer, wordPos)`` has the nonce's bit set: the authorization was spent and can
  move nothing more.
"""

from __future__ import annotations

from typing import Any

from paygo_desktop.chain.erc20_transfers import moved as moved_by
from paygo_desktop.chain.permit2_nonces import nonce_position, nonce_spent
from paygo_desktop.chain.upto_settle_calls import upto_settle_call
from paygo_desktop.receipts.checks import Check
from paygo_desktop.receipts.x402_chain_check import on_proof_chain
from paygo_desktop.receipts.x402_settlement_receipt import settlement_receipt
from paygo_desktop.receipts.x402_upto_proof import PERMIT2, UPTO_PROXY


async def upto_chain_checks(w3: Any, body: dict[str, Any]) -> list[Check]:
    checks = [await on_proof_chain(w3, body)]
    if not checks[0].ok:
        return checks
    settled, receipt = await settlement_receipt(w3, body)
    checks.append(settled)
    if receipt is not None:
        checks.append(_transfer_check(receipt, body))
        checks.append(await _settle_call_check(w3, body))
    checks.append(await _nonce_check(w3, body))
    return checks


def _transfer_check(receipt: Any, body: dict[str, Any]) -> Check:
    """The token's Transfer events from the payer to payTo in the receipt, together exactly the settled amount
    (as ``x402.settlement`` reads what the payer records)."""
    auth, settled = body["authorization"], int(body["settlement"]["amount"])
    moved = moved_by(receipt["logs"], str(body["asset"]["address"]), auth["from"], auth["witness"]["to"])
    return Check(
        "The token moved exactly the settled amount from the payer to payTo in it",
        moved == settled,
        f"{settled} base units"
        if moved == settled
        else f"{body['settlement']['txHash']} moved {moved}, not {settled}",
    )


async def _settle_call_check(w3: Any, body: dict[str, Any]) -> Check:
    name = "It is x402's upto proxy settling this authorization (its nonce, payer and settled amount)"
    auth, tx_hash = body["authorization"], str(body["settlement"]["txHash"])
    tx = await w3.eth.get_transaction(tx_hash)
    to = str(tx.get("to") or "")
    if to.lower() != UPTO_PROXY.lower():
        return Check(
            name, None, f"sent to {to or 'no contract'}, not the upto proxy itself: its input is not read"
        )
    call = upto_settle_call(bytes(tx["input"]))
    wanted = (int(auth["nonce"]), auth["from"].lower(), int(body["settlement"]["amount"]))
    if call is None or (call[0], call[1].lower(), call[2]) != wanted:
        return Check(name, False, f"{tx_hash} settles another authorization or amount")
    return Check(name, True, f"nonce {auth['nonce']}")


async def _nonce_check(w3: Any, body: dict[str, Any]) -> Check:
    name = "Permit2 has spent this authorization's nonce (nonceBitmap)"
    payer, nonce = body["authorization"]["from"], int(body["authorization"]["nonce"])
    spent = await nonce_spent(w3, PERMIT2, payer, nonce)
    if spent is None:
        return Check(name, False, f"no Permit2 answers at {PERMIT2} on this chain")
    word, _bit = nonce_position(nonce)
    return Check(name, spent, f"word {word}" + ("" if spent else ": the bit is clear, the nonce is unused"))
