"""What only the chain can say about an x402 payment's proof file (``receipts.x402_proof``), with a node the
user names.

* The node is the proof's chain.
* The token's EIP-712 domain on chain (its ``DOMAIN_SEPARATOR()``) is the one the proof names (a token that
  does not tell its domain: said, not failed; the settlement below shows it took the authorization).
* The settlement transaction succeeded, and the token logged in it both ``AuthorizationUsed(from, nonce)``
  (this authorization was the one used) and ``Transfer(from, to, value)`` (exactly this money moved).
"""

from __future__ import annotations

from typing import Any

from eth_utils import keccak

from paygo_desktop.chain.erc20_transfers import address_topic, transfers
from paygo_desktop.chain.log_decoding import as_bytes
from paygo_desktop.receipts.checks import Check
from paygo_desktop.receipts.x402_proof import domain_separator
from paygo_desktop.receipts.x402_settlement_receipt import settlement_receipt

AUTHORIZATION_USED = "0x" + keccak(text="AuthorizationUsed(address,bytes32)").hex()
DOMAIN_SEPARATOR_CALL = "0x" + keccak(text="DOMAIN_SEPARATOR()")[:4].hex()


async def on_proof_chain(w3: Any, body: dict[str, Any]) -> Check:
    """Whether the node answers for the chain the proof names (nothing else is asked of it if not)."""
    chain_id = int(await w3.eth.chain_id)
    wanted = int(body["network"]["chainId"])
    return Check("The node is on the proof's chain", chain_id == wanted, f"chain id {chain_id}")


async def x402_chain_checks(w3: Any, body: dict[str, Any]) -> list[Check]:
    checks = [await on_proof_chain(w3, body)]
    if not checks[0].ok:
        return checks
    checks.append(await _domain_check(w3, body))
    checks.extend(await _settlement_checks(w3, body))
    return checks


async def _domain_check(w3: Any, body: dict[str, Any]) -> Check:
    name = "The token's EIP-712 domain on chain is the proof's"
    token = str(body["asset"]["address"])
    try:
        answer = bytes(await w3.eth.call({"to": token, "data": DOMAIN_SEPARATOR_CALL}))
    except Exception:
        answer = b""
    if len(answer) != 32:
        return Check(name, None, f"{token} does not tell its domain (no DOMAIN_SEPARATOR())")
    return Check(name, answer == domain_separator(body), "0x" + answer.hex())


async def _settlement_checks(w3: Any, body: dict[str, Any]) -> list[Check]:
    tx_hash = str(body["settlement"]["txHash"])
    token = str(body["asset"]["address"]).lower()
    auth = body["authorization"]
    settled, receipt = await settlement_receipt(w3, body)
    checks = [settled]
    if receipt is None:
        return checks
    used = any(
        str(entry["address"]).lower() == token
        and ["0x" + as_bytes(t).hex() for t in entry["topics"]][:3]
        == [AUTHORIZATION_USED, address_topic(auth["from"]), auth["nonce"]]
        for entry in receipt["logs"]
    )
    transferred = int(auth["value"]) in transfers(receipt["logs"], token, auth["from"], auth["to"])
    checks.append(
        Check(
            "The token used this authorization in it (AuthorizationUsed for the payer's nonce)",
            used,
            f"nonce {auth['nonce']}" if used else f"{tx_hash} used no authorization {auth['nonce']}",
        )
    )
    checks.append(
        Check(
            "The token moved exactly the authorized value from the payer to payTo in it",
            transferred,
            f"{auth['value']} base units" if transferred else f"{tx_hash} has no such Transfer",
        )
    )
    return checks
