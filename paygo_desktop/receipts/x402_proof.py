"""The ``x402`` kind of proof file: one HTTP request paid with x402's ``exact`` scheme (an EIP-3009
``transferWithAuthorization`` the payer signed and the server's facilitator settled on chain).

Inside the same envelope, canonical form and seal as every proof (``receipts.proof``)::

    format "paygo-proof", version 1, kind "x402"
    network {chainId, name}
    asset {symbol, decimals, address, domain {name, version}}: the token, and its EIP-712 domain's name
               and version (with the chain id and the token's address, the domain the authorization is under)
    request {method, url}: what was paid for
    requirements {scheme "exact", payTo, amount, maxTimeoutSeconds}: what the server asked
    authorization {from, to, value, validAfter, validBefore, nonce}: the EIP-3009 authorization signed
    signature  the payer's EIP-712 signature of TransferWithAuthorization(authorization)
    settlement {txHash}: the transaction that moved the money
    seal       the payer's (``authorization.from``) EIP-191 signature, as for every proof

**Checked without a node** (``x402_checks``): every part's shape and one spelling (checksummed addresses,
lower-case hex, amounts and times as strings of base units and seconds); the signature recovering to
``from`` under the token's TransferWithAuthorization domain (eth-account's typed-data encoding); ``to``
being the server's payTo and ``value`` its amount; and the seal by the payer. ``receipts.x402_chain_check``
adds what the chain says.
"""

from __future__ import annotations

import re
from typing import Any

from eth_account import Account
from eth_account.messages import SignableMessage, encode_typed_data
from eth_utils import to_checksum_address

from paygo_desktop.protocol.auth import canonical_signature
from paygo_desktop.receipts.checks import Check, ProofError

X402_PARTS: dict[str, type] = {
    "format": str,
    "version": int,
    "kind": str,
    "network": dict,
    "asset": dict,
    "request": dict,
    "requirements": dict,
    "authorization": dict,
    "signature": str,
    "settlement": dict,
}  # and "seal"
X402_PART_KEYS = {
    "network": {"chainId", "name"},
    "asset": {"symbol", "decimals", "address", "domain"},
    "request": {"method", "url"},
    "requirements": {"scheme", "payTo", "amount", "maxTimeoutSeconds"},
    "authorization": {"from", "to", "value", "validAfter", "validBefore", "nonce"},
    "settlement": {"txHash"},
}
TRANSFER_WITH_AUTHORIZATION = [
    {"name": "from", "type": "address"},
    {"name": "to", "type": "address"},
    {"name": "value", "type": "uint256"},
    {"name": "validAfter", "type": "uint256"},
    {"name": "validBefore", "type": "uint256"},
    {"name": "nonce", "type": "bytes32"},
]
EIP712_DOMAIN = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]
_HEX32 = re.compile(r"0x[0-9a-f]{64}")
_UINT = re.compile(r"0|[1-9][0-9]{0,77}")
_METHOD = re.compile(r"[A-Z]{1,10}")
MAX_TEXT = 4000  # characters of a url, a symbol or a domain name in the file


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _checksummed(value: Any) -> str | None:
    try:
        return str(to_checksum_address(value)) if isinstance(value, str) else None
    except (TypeError, ValueError):
        return None


def _text(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= MAX_TEXT


def _shape(body: dict[str, Any]) -> None:
    """Exactly the x402 proof's parts, each of its type and in its one spelling."""
    parts = set(body) - {"seal"}
    if parts != set(X402_PARTS):
        odd = sorted(parts ^ set(X402_PARTS))
        raise ProofError(f"This proof's parts are not an x402 payment's (look at: {', '.join(odd)[:120]}).")
    for name, kind in X402_PARTS.items():
        if not isinstance(body[name], kind) or isinstance(body[name], bool):
            raise ProofError(f"The proof's {name} is malformed.")
    for name, keys in X402_PART_KEYS.items():
        if set(body[name]) != keys:
            raise ProofError(f"The proof's {name} does not hold exactly {', '.join(sorted(keys))}.")
    if not _int(body["network"]["chainId"]) or body["network"]["chainId"] <= 0:
        raise ProofError("The proof's network has no chain id.")
    _what_shape(body)
    _money_shape(body)


def _what_shape(body: dict[str, Any]) -> None:
    """The asset, the request and the scheme."""
    asset, request, requirements = body["asset"], body["request"], body["requirements"]
    domain = asset["domain"]
    if (
        not _text(asset["symbol"])
        or not _int(asset["decimals"])
        or not 0 <= asset["decimals"] <= 77
        or not isinstance(domain, dict)
        or set(domain) != {"name", "version"}
        or not all(_text(domain[k]) for k in ("name", "version"))
    ):
        raise ProofError("The proof's asset is malformed (symbol, decimals, domain {name, version}).")
    if not isinstance(request["method"], str) or not _METHOD.fullmatch(request["method"]):
        raise ProofError("The proof's request method is not an HTTP method in capitals.")
    if not _text(request["url"]) or not request["url"].startswith(("http://", "https://")):
        raise ProofError("The proof's request url is not an http(s) URL.")
    if requirements["scheme"] != "exact":
        raise ProofError("The proof's requirements are not x402's exact scheme (the only one proved).")
    if not _int(requirements["maxTimeoutSeconds"]) or requirements["maxTimeoutSeconds"] <= 0:
        raise ProofError("The proof's requirements have no maxTimeoutSeconds.")


def _money_shape(body: dict[str, Any]) -> None:
    """The addresses, amounts, times, nonce, transaction and signature, each in its one spelling."""
    for part, key in (
        ("asset", "address"),
        ("requirements", "payTo"),
        ("authorization", "from"),
        ("authorization", "to"),
    ):
        value = body[part][key]
        if _checksummed(value) != value:
            raise ProofError(f"The proof's {part} {key} is not a checksummed address.")
    for part, key in (
        ("requirements", "amount"),
        ("authorization", "value"),
        ("authorization", "validAfter"),
        ("authorization", "validBefore"),
    ):
        value = body[part][key]
        if not isinstance(value, str) or not _UINT.fullmatch(value) or int(value) >= 2**256:
            raise ProofError(f"The proof's {part} {key} is not a uint256 as a string of digits.")
    for part, key in (("authorization", "nonce"), ("settlement", "txHash")):
        value = body[part][key]
        if not isinstance(value, str) or not _HEX32.fullmatch(value):
            raise ProofError(f"The proof's {part} {key} is not 32 bytes of lower-case hex.")
    signature = body["signature"]
    if re.fullmatch(r"0x[0-9a-f]{130}", signature) is None or canonical_signature(signature) is None:
        raise ProofError(
            "The proof's signature is not one 65-byte signature in its one spelling (0x, lower-case hex, "
            "v 27 or 28, low s)."
        )


def authorization_typed_data(
    chain_id: int, token: str, domain: dict[str, str], authorization: dict[str, str]
) -> dict[str, Any]:
    """EIP-3009's TransferWithAuthorization as an EIP-712 message, under the token's domain."""
    return {
        "types": {"EIP712Domain": EIP712_DOMAIN, "TransferWithAuthorization": TRANSFER_WITH_AUTHORIZATION},
        "primaryType": "TransferWithAuthorization",
        "domain": {
            "name": domain["name"],
            "version": domain["version"],
            "chainId": chain_id,
            "verifyingContract": token,
        },
        "message": {
            "from": authorization["from"],
            "to": authorization["to"],
            "value": int(authorization["value"]),
            "validAfter": int(authorization["validAfter"]),
            "validBefore": int(authorization["validBefore"]),
            "nonce": bytes.fromhex(authorization["nonce"][2:]),
        },
    }


def _signable(body: dict[str, Any]) -> SignableMessage:
    asset = body["asset"]
    return encode_typed_data(
        full_message=authorization_typed_data(
            body["network"]["chainId"], asset["address"], asset["domain"], body["authorization"]
        )
    )


def domain_separator(body: dict[str, Any]) -> bytes:
    """The token's EIP-712 domain separator as the proof names it (the typed data's header)."""
    return bytes(_signable(body).header)


def _signer(body: dict[str, Any]) -> str | None:
    try:
        return str(Account.recover_message(_signable(body), signature=body["signature"]))
    except Exception:
        return None


def x402_checks(body: dict[str, Any]) -> list[Check]:
    _shape(body)
    authorization, requirements = body["authorization"], body["requirements"]
    payer = authorization["from"]
    signer = _signer(body)
    domain = body["asset"]["domain"]
    return [
        Check(
            "The authorization is signed by its payer (EIP-3009, under the token's EIP-712 domain)",
            signer == payer,
            f"{domain['name']} v{domain['version']} at {body['asset']['address']}"
            + ("" if signer == payer else f"; signed by {signer or 'nobody'}"),
        ),
        Check(
            "The authorization pays the server's payTo",
            authorization["to"] == requirements["payTo"],
            requirements["payTo"],
        ),
        Check(
            "The authorization's value is the amount the server asked",
            int(authorization["value"]) == int(requirements["amount"]),
            f"{authorization['value']} base units authorized, {requirements['amount']} asked",
        ),
    ]


def x402_payer(body: dict[str, Any]) -> str:
    _shape(body)
    return str(body["authorization"]["from"])
