"""A call to x402's upto proxy (its Permit2 settlement contract), decoded from a transaction's input with the
SDK's own ABI: which authorization it settles and for how much. Read by the upto proof's chain check
(``receipts.x402_upto_chain_check``) and by the x402 payer looking for a settlement it was not told of
(``x402.lapsed``).
"""

from __future__ import annotations

from typing import Any

from eth_abi import decode as abi_decode
from eth_utils import keccak, to_checksum_address
from x402.mechanisms.evm.constants import (
    X402_UPTO_PERMIT2_PROXY_ABI,
    X402_UPTO_PERMIT2_PROXY_ADDRESS,
    X402_UPTO_PERMIT2_PROXY_SETTLE_WITH_PERMIT_ABI,
)

UPTO_PROXY = to_checksum_address(X402_UPTO_PERMIT2_PROXY_ADDRESS)


def upto_settle_call(data: bytes) -> tuple[int, str, int] | None:
    """(permit nonce, owner, amount) of a call to the upto proxy's ``settle`` or ``settleWithPermit``."""
    abis: tuple[list[Any], ...] = (
        X402_UPTO_PERMIT2_PROXY_ABI,
        X402_UPTO_PERMIT2_PROXY_SETTLE_WITH_PERMIT_ABI,
    )
    for abi in abis:
        for entry in abi:
            if entry.get("type") != "function":
                continue
            types = [_abi_type(i) for i in entry["inputs"]]
            selector = keccak(text=f"{entry['name']}({','.join(types)})")[:4]
            if data[:4] != selector:
                continue
            try:
                args = dict(
                    zip([i["name"] for i in entry["inputs"]], abi_decode(types, data[4:]), strict=True)
                )
            except Exception:
                return None
            permit = args["permit"]  # ((token, amount), nonce, deadline)
            return int(permit[1]), str(args["owner"]), int(args["amount"])
    return None


def _abi_type(entry: dict[str, Any]) -> str:
    if entry["type"] == "tuple":
        return "(" + ",".join(_abi_type(c) for c in entry["components"]) + ")"
    return str(entry["type"])
