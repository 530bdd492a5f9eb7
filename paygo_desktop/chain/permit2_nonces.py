"""Whether Permit2 has spent a signature-transfer nonce.

Permit2's nonces are unordered: each is one bit of a bitmap word, ``nonceBitmap(owner, word)``, set when a
transfer signed with it goes through. Spent is final (the app never invalidates a nonce itself), so a set
bit means the authorization moved money. One reading for the x402 payer (a lapsed payment,
``x402.lapsed``) and the upto proof's check on chain (``receipts.x402_upto_chain_check``).
"""

from __future__ import annotations

from typing import Any

from eth_abi import encode as abi_encode
from eth_utils import keccak

NONCE_BITMAP = keccak(text="nonceBitmap(address,uint256)")[:4]


def nonce_position(nonce: int) -> tuple[int, int]:
    """(the bitmap word's position, the bit in it) of an unordered nonce."""
    return nonce >> 8, 1 << (nonce & 0xFF)


async def nonce_spent(w3: Any, permit2: str, owner: str, nonce: int) -> bool | None:
    """Whether ``owner``'s ``nonce`` is spent at ``permit2``; None when nothing answers as Permit2 there
    (no contract, or the node failed)."""
    word, bit = nonce_position(nonce)
    data = NONCE_BITMAP + abi_encode(["address", "uint256"], [owner, word])
    try:
        answer = bytes(await w3.eth.call({"to": permit2, "data": "0x" + data.hex()}))
    except Exception:
        return None
    if len(answer) != 32:
        return None
    return bool(int.from_bytes(answer, "big") & bit)
