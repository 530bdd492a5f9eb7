"""The ``x402-upto`` kind of proof file: one HTTP request paid with x402's ``upto`` scheme (a Permit2
``PermitWitnessTransferFrom`` for a maximum, of which the server's facilitator settled what the request
used through x402's upto proxy).

Inside the same envelope, canonical form and seal as every proof (``receipts.proof``)::

    format "paygo-proof", version 1, kind "x402-upto"
    network {chainId, name}
    asset {symbol, decimals, address}: the token
    request {method, url}: what was paid for
    requirements {scheme "upto", payTo, amount, maxTimeoutSeconds, facilitatorAddress}: what the server
               asked (``amount``: the most the request may cost)
    authorization {from, permitted {token, amount}, spender, nonce, deadline,
                   witness {to, facilitator, validAfter}}: the Permit2 authorization as signed
    signature  the payer's EIP-712 signature of it, under Permit2's domain
    settlement {txHash, amount}: the transaction that moved the money, and what it moved
    seal       the payer's (``authorization.from``) EIP-191 signature, as for every proof

**Checked without a node** (``upto_checks``): every part's shape and one spelling (checksummed addresses,
lower-case hex, numbers as strings of digits); the signature recovering to ``from`` under Permit2's
EIP-712 domain ("Permit2", the chain id, the canonical Permit2 address: not the file's word) with the
witness types x402's SDK signs (eth-account's typed-data encoding); the permitted token being the asset and
its amount the quoted maximum; the spender being x402's upto proxy; the witness paying the server's payTo
through its facilitator; the settled amount at most the maximum; and the seal by the payer.
``receipts.x402_upto_chain_check`` adds what the chain says.
"""

from __future__ import annotations

from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import to_checksum_address
from x402.mechanisms.evm.constants import (
    PERMIT2_ADDRESS,
    UPTO_PERMIT2_WITNESS_TYPES,
)

from paygo_desktop.chain.upto_settle_calls import UPTO_PROXY
from paygo_desktop.receipts.checks import Check, ProofError
from paygo_desktop.receipts.x402_proof import MAX_TEXT, X402_PARTS, _int, check_request, check_spellings

PERMIT2 = to_checksum_address(PERMIT2_ADDRESS)
PERMIT2_DOMAIN = [
    {"name": "name", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]
UPTO_PARTS = X402_PARTS  # the same parts as an exact payment's proof; their contents differ
UPTO_PART_KEYS = {
    "network": {"chainId", "name"},
    "asset": {"symbol", "decimals", "address"},
    "request": {"method", "url"},
    "requirements": {"scheme", "payTo", "amount", "maxTimeoutSeconds", "facilitatorAddress"},
    "authorization": {"from", "permitted", "spender", "nonce", "deadline", "witness"},
    "settlement": {"txHash", "amount"},
}


def _shape(body: dict[str, Any]) -> None:
    """Exactly the upto proof's parts, each of its type and in its one spelling."""
    parts = set(body) - {"seal"}
    if parts != set(UPTO_PARTS):
        odd = sorted(parts ^ set(UPTO_PARTS))
        raise ProofError(
            f"This proof's parts are not an x402 upto payment's (look at: {', '.join(odd)[:120]})."
        )
    for name, kind in UPTO_PARTS.items():
        if not isinstance(body[name], kind) or isinstance(body[name], bool):
            raise ProofError(f"The proof's {name} is malformed.")
    for name, keys in UPTO_PART_KEYS.items():
        if set(body[name]) != keys:
            raise ProofError(f"The proof's {name} does not hold exactly {', '.join(sorted(keys))}.")
    auth = body["authorization"]
    if not isinstance(auth["permitted"], dict) or set(auth["permitted"]) != {"token", "amount"}:
        raise ProofError("The proof's authorization permitted does not hold exactly amount, token.")
    if not isinstance(auth["witness"], dict) or set(auth["witness"]) != {"to", "facilitator", "validAfter"}:
        raise ProofError(
            "The proof's authorization witness does not hold exactly facilitator, to, validAfter."
        )
    if not _int(body["network"]["chainId"]) or body["network"]["chainId"] <= 0:
        raise ProofError("The proof's network has no chain id.")
    asset, requirements = body["asset"], body["requirements"]
    if (
        not isinstance(asset["symbol"], str)
        or not 0 < len(asset["symbol"]) <= MAX_TEXT
        or not _int(asset["decimals"])
        or not 0 <= asset["decimals"] <= 77
    ):
        raise ProofError("The proof's asset is malformed (symbol, decimals).")
    check_request(body["request"])
    if requirements["scheme"] != "upto":
        raise ProofError("The proof's requirements are not x402's upto scheme.")
    if not _int(requirements["maxTimeoutSeconds"]) or requirements["maxTimeoutSeconds"] <= 0:
        raise ProofError("The proof's requirements have no maxTimeoutSeconds.")
    check_spellings(
        [
            ("asset", "address", asset["address"]),
            ("requirements", "payTo", requirements["payTo"]),
            ("requirements", "facilitatorAddress", requirements["facilitatorAddress"]),
            ("authorization", "from", auth["from"]),
            ("authorization", "spender", auth["spender"]),
            ("authorization permitted", "token", auth["permitted"]["token"]),
            ("authorization witness", "to", auth["witness"]["to"]),
            ("authorization witness", "facilitator", auth["witness"]["facilitator"]),
        ],
        [
            ("requirements", "amount", requirements["amount"]),
            ("authorization permitted", "amount", auth["permitted"]["amount"]),
            ("authorization", "nonce", auth["nonce"]),
            ("authorization", "deadline", auth["deadline"]),
            ("authorization witness", "validAfter", auth["witness"]["validAfter"]),
            ("settlement", "amount", body["settlement"]["amount"]),
        ],
        [("settlement", "txHash", body["settlement"]["txHash"])],
        body["signature"],
    )


def permit_typed_data(chain_id: int, authorization: dict[str, Any]) -> dict[str, Any]:
    """The Permit2 ``PermitWitnessTransferFrom`` x402's upto client signs, as an EIP-712 message under
    Permit2's domain at its canonical address (the SDK's own witness types)."""
    permitted, witness = authorization["permitted"], authorization["witness"]
    return {
        "types": {"EIP712Domain": PERMIT2_DOMAIN, **UPTO_PERMIT2_WITNESS_TYPES},
        "primaryType": "PermitWitnessTransferFrom",
        "domain": {"name": "Permit2", "chainId": chain_id, "verifyingContract": PERMIT2},
        "message": {
            "permitted": {"token": permitted["token"], "amount": int(permitted["amount"])},
            "spender": authorization["spender"],
            "nonce": int(authorization["nonce"]),
            "deadline": int(authorization["deadline"]),
            "witness": {
                "to": witness["to"],
                "facilitator": witness["facilitator"],
                "validAfter": int(witness["validAfter"]),
            },
        },
    }


def _signer(body: dict[str, Any]) -> str | None:
    try:
        signable = encode_typed_data(
            full_message=permit_typed_data(body["network"]["chainId"], body["authorization"])
        )
        return str(Account.recover_message(signable, signature=body["signature"]))
    except Exception:
        return None


def upto_checks(body: dict[str, Any]) -> list[Check]:
    _shape(body)
    auth, requirements, asset = body["authorization"], body["requirements"], body["asset"]
    permitted, witness = auth["permitted"], auth["witness"]
    payer, signer = auth["from"], _signer(body)
    maximum, settled = int(permitted["amount"]), int(body["settlement"]["amount"])
    return [
        Check(
            "The authorization is signed by its payer (Permit2's PermitWitnessTransferFrom, upto witness)",
            signer == payer,
            f"Permit2 at {PERMIT2}" + ("" if signer == payer else f"; signed by {signer or 'nobody'}"),
        ),
        Check(
            "The authorization permits the asset's token",
            permitted["token"] == asset["address"],
            asset["address"],
        ),
        Check(
            "The authorization's maximum is the amount the server quoted",
            maximum == int(requirements["amount"]),
            f"{permitted['amount']} base units at most, {requirements['amount']} quoted",
        ),
        Check("Only x402's upto proxy may spend it", auth["spender"] == UPTO_PROXY, auth["spender"]),
        Check(
            "The authorization pays the server's payTo through its facilitator",
            witness["to"] == requirements["payTo"]
            and witness["facilitator"] == requirements["facilitatorAddress"],
            f"to {witness['to']}, facilitator {witness['facilitator']}",
        ),
        Check(
            "The settled amount is at most the authorized maximum",
            settled <= maximum,
            f"{settled} of at most {maximum} base units",
        ),
    ]


def upto_payer(body: dict[str, Any]) -> str:
    _shape(body)
    return str(body["authorization"]["from"])
