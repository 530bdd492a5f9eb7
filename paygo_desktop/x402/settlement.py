"""What an x402 settlement moved, read from the chain: the token's ``Transfer`` events from the payer to the
payee in the settlement transaction's receipt. An ``upto`` server says in its PAYMENT-RESPONSE how much it
settled; a server that says less than it took would make the user's limits count less than was paid, so
the app records what the chain shows (``x402.payer``)."""

from __future__ import annotations

import re
from typing import Any

from paygo_desktop.chain.erc20_transfers import moved

TX_HASH = re.compile(r"0x[0-9a-fA-F]{64}")


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
