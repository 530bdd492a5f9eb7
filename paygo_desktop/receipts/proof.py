"""Proof files: what a paid session (or a job, or an x402 payment) was, in one self-contained file
that anyone can check.

**The file.** One JSON object in canonical form: keys sorted, no whitespace, ASCII only (``\\uXXXX``
escapes), followed by exactly one ``\\n``. Nothing else is a proof file: the verifier re-encodes what it
read and refuses the file unless the bytes are identical, so whitespace, key order, a second copy of a key
or a trailing blank line are refused like any other change ("not in canonical form"). Inside it (wire
forms of ``protocol.models``, amounts as strings of base units)::

    format "paygo-proof", version 1, kind "session"
    network {chainId, name}, vault, asset {symbol, decimals, address}
    provider {name, url, payTo, signingKey}
    channel {payer, signer, provider, token, withdrawDelay, salt}
    quote      the provider's signed quote (its signature: protocol.signing)
    receipt    the provider's signed receipt
    finalVoucher {cumulativeAmount, signature}: the payer's EIP-712 voucher the session settled at
    claim {txHash, event, blockNumber} or null: the vault transaction that paid the provider
    session {localId, serviceName, startedAt, endedAt}: the app's own words for it
    seal       the payer's EIP-191 signature over "PayGo proof v1\\n" + the canonical JSON without "seal"

**What is checked without a node** (``verify_offline``): the canonical form; every part's shape; the
quote and the receipt signed by the provider's signing key; the channel's parameters hashing to the id
both name, on the chain and vault the quote names; the receipt's amount equal to its final cumulative
minus the quote's start; the final voucher for exactly the receipt's final cumulative and signed by the
channel's signer (EIP-712, as the vault checks it); and the seal by the channel's payer. The seal covers
every other byte: a file changed anywhere fails at least the seal. With a node, ``receipts.chain_check``
adds what only the chain knows.

**Other kinds.** ``KINDS`` maps a kind to its checks (``ProofKind``): "session" (here), "job"
(``receipts.job_proof``), "x402" (``receipts.x402_proof``) and "x402-upto" (``receipts.x402_upto_proof``),
each its own body in the same envelope,
canonical form and seal. A file of an unknown kind is refused with its kind named.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import to_checksum_address

from paygo_desktop import bounded_json
from paygo_desktop.chain.vouchers import ZERO_ADDRESS, Channel, VaultDomain, verify_voucher
from paygo_desktop.protocol import models as m
from paygo_desktop.protocol.auth import canonical_signature
from paygo_desktop.protocol.signing import verify_model
from paygo_desktop.receipts.checks import Check, ProofError
from paygo_desktop.receipts.job_proof import job_checks, job_client
from paygo_desktop.receipts.x402_proof import x402_checks, x402_payer

FORMAT = "paygo-proof"
VERSION = 1
SEAL_PREFIX = "PayGo proof v1\n"
MAX_PROOF_BYTES = 64 * 1024


def canonical(body: dict[str, Any]) -> str:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def proof_bytes(body: dict[str, Any]) -> bytes:
    """The file's bytes: canonical JSON and one newline."""
    return (canonical(body) + "\n").encode("ascii")


def seal_message(body: dict[str, Any]) -> str:
    return SEAL_PREFIX + canonical({k: v for k, v in body.items() if k != "seal"})


def seal(body: dict[str, Any], key: Any) -> dict[str, Any]:
    """``body`` with the payer's seal (``key``: the payer's local account or private key)."""
    unsealed = {k: v for k, v in body.items() if k != "seal"}
    secret = getattr(key, "key", key)
    signed = Account.sign_message(encode_defunct(text=seal_message(unsealed)), secret)
    return {**unsealed, "seal": "0x" + bytes(signed.signature).hex()}


def read_proof(data: bytes) -> dict[str, Any]:
    """The proof's object, once its bytes are known to be exactly its canonical form."""
    if len(data) > MAX_PROOF_BYTES:
        raise ProofError(f"This file is {len(data):,} bytes; a proof file is at most {MAX_PROOF_BYTES:,}.")
    try:
        body = bounded_json.loads(data, max_bytes=MAX_PROOF_BYTES)
    except (ValueError, bounded_json.JSONRejected) as exc:
        raise ProofError(f"This file is not a proof: it is not JSON ({str(exc)[:80]}).") from None
    if not isinstance(body, dict):
        raise ProofError("This file is not a proof: it holds no JSON object.")
    if body.get("format") != FORMAT:
        raise ProofError("This file is not a PayGo proof (its format is not paygo-proof).")
    if body.get("version") != VERSION:
        raise ProofError(f"This proof is version {str(body.get('version'))[:10]}; this app reads version 1.")
    try:
        expected = proof_bytes(body)
    except (TypeError, ValueError):
        expected = b""
    if data != expected:
        raise ProofError(
            "This proof is not in its canonical form: some byte was changed, added or removed (an editor "
            "that re-saved it changes spacing or line ends, which the canonical form does not allow)."
        )
    return body


# -- the session kind -------------------------------------------------------------------------------


def _channel(body: dict[str, Any]) -> Channel:
    return m.ChannelOut.model_validate(body["channel"]).to_channel()


def _wire(model: m.WireModel) -> dict[str, Any]:
    return dict(model.model_dump(mode="json", by_alias=True))


SESSION_PARTS: dict[str, type | tuple[type, ...]] = {
    "format": str,
    "version": int,
    "kind": str,
    "network": dict,
    "vault": str,
    "asset": dict,
    "provider": dict,
    "channel": dict,
    "quote": dict,
    "receipt": dict,
    "finalVoucher": dict,
    "claim": (dict, type(None)),
    "session": dict,
}  # and "seal" (checked on its own: a proof kept in the app, not exported yet, has none)
PART_KEYS = {
    "network": {"chainId", "name"},
    "asset": {"symbol", "decimals", "address"},
    "provider": {"name", "url", "payTo", "signingKey"},
    "finalVoucher": {"cumulativeAmount", "signature"},
    "session": {"localId", "serviceName", "startedAt", "endedAt"},
}


def _shape(body: dict[str, Any]) -> None:
    """Exactly the session proof's parts, each of its type: nothing missing, nothing added."""
    parts = set(body) - {"seal"}
    if parts != set(SESSION_PARTS):
        odd = sorted(parts ^ set(SESSION_PARTS))
        raise ProofError(f"This proof's parts are not a session proof's (look at: {', '.join(odd)[:120]}).")
    for name, kind in SESSION_PARTS.items():
        if not isinstance(body[name], kind) or isinstance(body[name], bool):
            raise ProofError(f"The proof's {name} is malformed.")
    for name, keys in PART_KEYS.items():
        if set(body[name]) != keys:
            raise ProofError(f"The proof's {name} does not hold exactly {', '.join(sorted(keys))}.")
    if not isinstance(body["network"]["chainId"], int) or isinstance(body["network"]["chainId"], bool):
        raise ProofError("The proof's network has no chain id.")
    if body["claim"] is not None and set(body["claim"]) != {"txHash", "event", "blockNumber"}:
        raise ProofError("The proof's claim does not hold exactly txHash, event, blockNumber.")


def _parts(body: dict[str, Any]) -> tuple[m.Quote, m.Receipt, Channel, dict[str, Any], dict[str, Any]]:
    """The signed parts, validated, each required to be in its own normal form (checksummed addresses,
    lower-case hex, amounts as strings) so that one meaning has one spelling."""
    _shape(body)
    try:
        quote = m.Quote.model_validate(body["quote"])
        receipt = m.Receipt.model_validate(body["receipt"])
        channel = _channel(body)
        provider = dict(body["provider"])
        voucher = dict(body["finalVoucher"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ProofError(f"This proof is missing a part or has one malformed: {str(exc)[:160]}") from None
    for name, model in (("quote", quote), ("receipt", receipt)):
        if _wire(model) != body[name]:
            raise ProofError(f"The proof's {name} is not in its normal form.")
    if _wire(m.ChannelOut.from_channel(channel)) != body["channel"]:
        raise ProofError("The proof's channel is not in its normal form.")
    for part, key in (("provider", "payTo"), ("provider", "signingKey")):
        value = provider.get(key)
        if not isinstance(value, str) or value != _checksummed(value):
            raise ProofError(f"The proof's {part} {key} is not a checksummed address.")
    return quote, receipt, channel, provider, voucher


def _checksummed(value: str) -> str | None:
    try:
        return str(to_checksum_address(value))
    except ValueError:
        return None


def _session_checks(body: dict[str, Any]) -> list[Check]:
    quote, receipt, channel, provider, voucher = _parts(body)
    key = provider["signingKey"]
    cid = "0x" + channel.id.hex()
    checks = [
        Check("The quote is signed by the provider's signing key", verify_model(quote, key), key),
        Check("The receipt is signed by the provider's signing key", verify_model(receipt, key), key),
        Check(
            "The quote and the receipt name this channel and the same session",
            quote.channel_id == cid and receipt.channel_id == cid and quote.session_id == receipt.session_id,
            cid,
        ),
        Check(
            "The channel pays the provider's payTo, on the quote's chain and vault",
            channel.provider == provider["payTo"]
            and quote.chain_id == body["network"]["chainId"]
            and quote.vault == body["vault"],
            f"chain {quote.chain_id}, vault {quote.vault}",
        ),
        Check(
            "The receipt's amount is its final cumulative less the quote's start",
            receipt.amount == receipt.final_cumulative - quote.start_cumulative,
            f"{receipt.final_cumulative} - {quote.start_cumulative} = {receipt.amount} base units",
        ),
        Check(
            "The asset is the channel's token",
            _asset_matches(body.get("asset"), channel),
            str((body.get("asset") or {}).get("symbol", "")),
        ),
    ]
    cumulative = voucher.get("cumulativeAmount")
    signature = str(voucher.get("signature"))
    voucher_ok = (
        isinstance(cumulative, str)
        and re.fullmatch(r"0|[1-9][0-9]{0,38}", cumulative) is not None
        and int(cumulative) == receipt.final_cumulative
        and _signature_ok(signature)
        and verify_voucher(VaultDomain(quote.chain_id, quote.vault), channel, int(cumulative), signature)
    )
    checks.append(
        Check(
            "The final voucher is the channel signer's, for exactly the receipt's final cumulative",
            bool(voucher_ok),
            f"signer {channel.effective_signer}",
        )
    )
    return checks


def _signature_ok(signature: Any) -> bool:
    """A 65-byte signature in its one spelling: 0x and lower-case hex, v 27 or 28, low s."""
    return (
        isinstance(signature, str)
        and re.fullmatch(r"0x[0-9a-f]{130}", signature) is not None
        and canonical_signature(signature) is not None
    )


def _asset_matches(asset: Any, channel: Channel) -> bool:
    if not isinstance(asset, dict) or not isinstance(asset.get("decimals"), int):
        return False
    address = asset.get("address")
    if address is None:
        return channel.token == ZERO_ADDRESS
    return isinstance(address, str) and _checksummed(address) == address == channel.token


def _payer(body: dict[str, Any]) -> str:
    return _channel(body).payer


# An upto proof's checks need the x402 SDK (Permit2's address and types): imported when such a proof is
# checked, not by every process that builds a session's receipt (the app's session engine among them).
def _upto_checks(body: dict[str, Any]) -> list[Check]:
    from paygo_desktop.receipts.x402_upto_proof import upto_checks

    return upto_checks(body)


def _upto_payer(body: dict[str, Any]) -> str:
    from paygo_desktop.receipts.x402_upto_proof import upto_payer

    return upto_payer(body)


@dataclass(frozen=True)
class ProofKind:
    """What a kind of proof is checked for: its own parts offline, and the account whose seal it bears."""

    name: str
    offline: Callable[[dict[str, Any]], list[Check]]
    sealer: Callable[[dict[str, Any]], str]


KINDS: dict[str, ProofKind] = {
    "session": ProofKind("a metered session", _session_checks, _payer),
    "job": ProofKind("a fixed-price job", job_checks, job_client),
    "x402": ProofKind("an x402 payment", x402_checks, x402_payer),
    "x402-upto": ProofKind("an x402 upto payment", _upto_checks, _upto_payer),
}


def kind_of(body: dict[str, Any]) -> ProofKind:
    kind = body.get("kind")
    found = KINDS.get(kind) if isinstance(kind, str) else None
    if found is None:
        known = ", ".join(KINDS)
        raise ProofError(f"This app cannot check proofs of kind “{str(kind)[:20]}” yet (it knows: {known}).")
    return found


def seal_check(body: dict[str, Any], sealer: str) -> Check:
    signature = body.get("seal")
    signer: str | None = None
    if _signature_ok(signature):
        try:
            signer = str(
                Account.recover_message(encode_defunct(text=seal_message(body)), signature=signature)
            )
        except Exception:
            signer = None
    return Check(
        "The whole file is sealed by the payer (any changed byte breaks this)", signer == sealer, sealer
    )


def verify_offline(data: bytes) -> tuple[dict[str, Any], list[Check]]:
    """Read the proof in ``data`` and check everything that needs no node. Raises ``ProofError`` for a file
    that cannot be read as a proof at all."""
    body = read_proof(data)
    kind = kind_of(body)
    try:
        checks = kind.offline(body)
        sealer = kind.sealer(body)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:  # a part of the wrong shape
        raise ProofError(
            f"This proof has a malformed part ({type(exc).__name__}: {str(exc)[:80]})."
        ) from None
    checks.append(seal_check(body, sealer))
    return body, checks
