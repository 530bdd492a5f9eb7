"""An x402 payment's proof file, from what the app kept of it: kind "x402" for an ``exact`` payment
(``receipts.x402_proof``), "x402-upto" for an ``upto`` one (``receipts.x402_upto_proof``: the Permit2
authorization rebuilt from the kept nonce, deadline, witness validAfter and quote, and the settled amount
the chain showed, migration 0012).

The payer keeps each payment's authorization, its signature and the requirements the server quoted
(``x402.payer``, migration 0011), and the settlement's transaction from the server's PAYMENT-RESPONSE.
Only a settled payment with its transaction has a proof: a pending or failed one, or one recorded before
the app kept signatures, is refused with the reason. Nothing here asks the chain; the file is checked
offline (``receipts.proof.verify_offline``) before it is handed back. Blocking (SQL, signing): call these
off the GUI thread.
"""

from __future__ import annotations

import json
from typing import Any

from eth_utils import to_checksum_address

from paygo_desktop.peer_text import is_digits
from paygo_desktop.receipts.checks import Check
from paygo_desktop.receipts.proof import (
    FORMAT,
    VERSION,
    ProofError,
    kind_of,
    proof_bytes,
    seal,
    verify_offline,
)
from paygo_desktop.receipts.x402_upto_proof import UPTO_PROXY
from paygo_desktop.store.database import Store
from paygo_desktop.store.x402 import FAILED, PENDING, X402Payment, X402Store


def settled_payment(store: Store, payment_id: int) -> X402Payment:
    """The payment ``payment_id``, if it can have a proof; ``ProofError`` says why not."""
    payment = X402Store(store).payment(payment_id)
    if payment is None:
        raise ProofError(f"This app has no x402 payment {payment_id} (see `paygo-desktop x402 list`).")
    if payment.status == PENDING:
        raise ProofError(
            f"x402 payment {payment_id} is not settled: the server has not said the money moved, so there "
            "is nothing on chain to prove yet."
        )
    if payment.status == FAILED:
        reason = f" ({payment.error[:160]})" if payment.error else ""
        raise ProofError(
            f"x402 payment {payment_id} failed{reason}: the server named no transaction that moved the "
            "money, so there is nothing to prove."
        )
    if not payment.tx_hash:
        raise ProofError(
            f"The server said x402 payment {payment_id} settled but named no transaction: a proof needs it."
        )
    if payment.scheme not in ("exact", "upto"):
        raise ProofError(
            f"x402 payment {payment_id} was paid with the {payment.scheme[:30]} scheme: only exact and upto "
            "payments have a proof file."
        )
    if payment.scheme == "upto" and payment.settled_amount is None:
        raise ProofError(
            f"It is not known what x402 payment {payment_id} settled (the chain could not be read when it "
            "was paid): its proof cannot name the amount."
        )
    if payment.signature is None or payment.valid_after is None or payment.requirements is None:
        raise ProofError(
            f"x402 payment {payment_id} was made before this app kept the signed authorization a proof needs "
            "(an earlier version): its proof cannot be made."
        )
    return payment


def _domain(payment: X402Payment) -> dict[str, str]:
    try:
        extra = json.loads(payment.requirements or "{}").get("extra") or {}
    except (ValueError, AttributeError):
        extra = {}
    name, version = extra.get("name"), extra.get("version")
    if not isinstance(name, str) or not isinstance(version, str):
        raise ProofError("The server's quote kept with this payment names no EIP-712 domain for its token.")
    return {"name": name, "version": version}


def _chain_id(payment: X402Payment) -> int:
    namespace, _, reference = payment.network.partition(":")
    if namespace != "eip155" or not is_digits(reference):
        raise ProofError(f"This payment's network {payment.network[:40]} is not an EVM chain.")
    return int(reference)


def x402_proof_body(payment: X402Payment, network_name: str) -> dict[str, Any]:
    """The unsealed proof of ``payment`` (a ``settled_payment``): the requirements as the server quoted
    them, the authorization as the payer signed it (the payer recorded it only once it matched the quote)."""
    quoted = _quoted(payment)
    if payment.scheme == "upto":
        return _upto_body(payment, network_name, quoted)
    return {
        "format": FORMAT,
        "version": VERSION,
        "kind": "x402",
        "network": {"chainId": _chain_id(payment), "name": network_name},
        "asset": {
            "symbol": payment.asset_symbol,
            "decimals": payment.decimals,
            "address": to_checksum_address(payment.asset),
            "domain": _domain(payment),
        },
        "request": {"method": payment.method, "url": payment.url},
        "requirements": quoted,
        "authorization": {
            "from": to_checksum_address(payment.payer),
            "to": to_checksum_address(payment.pay_to),
            "value": str(payment.amount),
            "validAfter": str(payment.valid_after),
            "validBefore": str(payment.valid_before),
            "nonce": payment.nonce.lower(),
        },
        "signature": (payment.signature or "").lower(),
        "settlement": {"txHash": (payment.tx_hash or "").lower()},
    }


def _quoted(payment: X402Payment) -> dict[str, Any]:
    """The requirements the server quoted, in the proof's words (an upto quote names its facilitator)."""
    try:
        requirements = json.loads(payment.requirements or "{}")
        quoted = {
            "scheme": requirements["scheme"],
            "payTo": to_checksum_address(requirements["payTo"]),
            "amount": requirements["amount"],
            "maxTimeoutSeconds": requirements["maxTimeoutSeconds"],
        }
        if payment.scheme == "upto":
            quoted["facilitatorAddress"] = to_checksum_address(requirements["extra"]["facilitatorAddress"])
    except (KeyError, TypeError, ValueError):
        raise ProofError("The server's quote kept with this payment is malformed.") from None
    return quoted


def _upto_body(payment: X402Payment, network_name: str, quoted: dict[str, Any]) -> dict[str, Any]:
    """The x402-upto proof (``receipts.x402_upto_proof``): the Permit2 authorization as the SDK signed it
    (for the payer's checked maximum, through x402's upto proxy, its witness the quote's payTo and
    facilitator) and what the chain showed the settlement moved."""
    token = to_checksum_address(payment.asset)
    return {
        "format": FORMAT,
        "version": VERSION,
        "kind": "x402-upto",
        "network": {"chainId": _chain_id(payment), "name": network_name},
        "asset": {"symbol": payment.asset_symbol, "decimals": payment.decimals, "address": token},
        "request": {"method": payment.method, "url": payment.url},
        "requirements": quoted,
        "authorization": {
            "from": to_checksum_address(payment.payer),
            "permitted": {"token": token, "amount": str(payment.amount)},
            "spender": UPTO_PROXY,
            "nonce": str(int(payment.nonce, 16)),
            "deadline": str(payment.valid_before),
            "witness": {
                "to": to_checksum_address(payment.pay_to),
                "facilitator": quoted["facilitatorAddress"],
                "validAfter": str(payment.valid_after),
            },
        },
        "signature": (payment.signature or "").lower(),
        "settlement": {"txHash": (payment.tx_hash or "").lower(), "amount": str(payment.settled_amount)},
    }


def _network_name(payment: X402Payment, chain_id: int, name: str) -> str:
    """The app's name for the payment's network when it is the one given, else its CAIP-2 id."""
    return name if payment.network == f"eip155:{chain_id}" else payment.network


def stored_x402_checks(
    store: Store, payment_id: int, chain_id: int, network_name: str
) -> tuple[dict[str, Any], list[Check]]:
    """The unsealed proof of a payment as the app kept it, and its offline checks (without the seal: it is
    made when the file is exported). ``ProofError`` says why the payment has no proof."""
    payment = settled_payment(store, payment_id)
    body = x402_proof_body(payment, _network_name(payment, chain_id, network_name))
    try:
        return body, kind_of(body).offline(body)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ProofError(f"What was kept of this payment is malformed ({type(exc).__name__}).") from None


def x402_proof(store: Store, payment_id: int, chain_id: int, network_name: str, key: Any) -> bytes:
    """The sealed proof file of the x402 payment ``payment_id`` (``key``: the payer's local account)."""
    payment = settled_payment(store, payment_id)
    if str(getattr(key, "address", "")).lower() != payment.payer.lower():
        raise ProofError(
            "An x402 payment's proof is sealed by its payer's key: unlock the account that paid."
        )
    body = x402_proof_body(payment, _network_name(payment, chain_id, network_name))
    data = proof_bytes(seal(body, key))
    _body, checks = verify_offline(data)
    failed = [c.name for c in checks if c.ok is False]
    if failed:
        raise ProofError(f"The payment's proof would not verify ({failed[0].lower()}): it was not written.")
    return data
