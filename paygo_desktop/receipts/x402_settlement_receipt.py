"""One reading of an x402 payment proof's settlement transaction on chain, shared by the ``exact`` and the
``upto`` proof's chain checks (``x402_chain_check``, ``x402_upto_chain_check``): its receipt when it
succeeded, and the check that says so, or why not (not on this chain, or failed)."""

from __future__ import annotations

from typing import Any

from web3.exceptions import TransactionNotFound

from paygo_desktop.receipts.checks import Check

SETTLED_NAME = "The settlement transaction succeeded"


async def settlement_receipt(w3: Any, body: dict[str, Any]) -> tuple[Check, Any | None]:
    """The check "the settlement transaction succeeded" for the proof ``body``, with the transaction's
    receipt when it did (None when it is not on this chain or reverted: nothing more is read from it)."""
    tx_hash = str(body["settlement"]["txHash"])
    try:
        receipt = await w3.eth.get_transaction_receipt(tx_hash)
    except TransactionNotFound:
        receipt = None
    if receipt is None or int(receipt["status"]) != 1:
        what = "is not on this chain" if receipt is None else "failed (reverted)"
        return Check(SETTLED_NAME, False, f"{tx_hash} {what}"), None
    return Check(SETTLED_NAME, True, f"block {int(receipt['blockNumber'])}"), receipt
