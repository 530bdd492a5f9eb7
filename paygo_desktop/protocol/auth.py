"""Request authentication by signature, in the style of EIP-4361 (Sign-In with Ethereum). No passwords.

The client signs (EIP-191 ``personal_sign``) a message of this exact form::

    {domain} wants you to sign in with your Ethereum account:
    {address}

    PayGo request {METHOD} {target} body-sha256 {hex}

    URI: {uri}
    Version: 1
    Chain ID: {chainId}
    Nonce: {nonce}
    Issued At: {issuedAt, RFC 3339 UTC, e.g. 2026-11-23T20:00:00Z}
    Expiration Time: {expirationTime}

and sends it base64-encoded in ``X-PayGo-Auth-Message`` with the 0x-hex signature in
``X-PayGo-Auth-Signature``. The statement binds the signature to one request: its method, its target (the
path and query exactly as sent, relative to the provider's base URL, e.g.
``/api/v1/vendor/earnings?from=0&bucket=day``) and the SHA-256 of its body (of nothing for a request
without one). The server checks the domain (the host[:port] of its public base URL), the chain id, the
freshness (issued at most ``skew`` seconds in the future, not expired, lifetime at most ``max_lifetime``),
that the statement names this very request, that the signature recovers to the address in the message,
and that the nonce (8-64 alphanumerics) was never used before. Every request needs a fresh message, and a
message signed for one request is refused on any other method, path, query or body.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import is_checksum_address

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
MAX_MESSAGE_BYTES = 2048
MAX_TARGET_CHARS = 800
DEFAULT_LIFETIME = 120

_MESSAGE = re.compile(
    r"(?P<domain>[A-Za-z0-9.\-:\[\]]{1,255}) wants you to sign in with your Ethereum account:\n"
    r"(?P<address>0x[0-9a-fA-F]{40})\n"
    r"\n"
    r"(?P<statement>[^\n]{0,1000})\n"
    r"\n"
    r"URI: (?P<uri>[^\s]{1,512})\n"
    r"Version: 1\n"
    r"Chain ID: (?P<chain_id>[0-9]{1,16})\n"
    r"Nonce: (?P<nonce>[A-Za-z0-9]{8,64})\n"
    r"Issued At: (?P<issued_at>[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z)\n"
    r"Expiration Time: (?P<expires_at>[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z)"
)


class AuthError(Exception):
    """The request's signature authentication is missing or invalid (message is safe to return)."""


@dataclass(frozen=True)
class AuthMessage:
    domain: str
    address: str
    statement: str
    uri: str
    chain_id: int
    nonce: str
    issued_at: int
    expires_at: int

    def text(self) -> str:
        return (
            f"{self.domain} wants you to sign in with your Ethereum account:\n"
            f"{self.address}\n\n{self.statement}\n\n"
            f"URI: {self.uri}\nVersion: 1\nChain ID: {self.chain_id}\nNonce: {self.nonce}\n"
            f"Issued At: {_rfc3339(self.issued_at)}\nExpiration Time: {_rfc3339(self.expires_at)}"
        )


def _rfc3339(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(text: str) -> int:
    try:
        return int(datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp())
    except ValueError:
        raise AuthError("bad timestamp in auth message") from None


def canonical_signature(signature: bytes | str) -> bytes | None:
    """65 bytes, v in {27, 28}, low s; None otherwise."""
    try:
        sig = bytes.fromhex(signature.removeprefix("0x")) if isinstance(signature, str) else bytes(signature)
    except ValueError:
        return None
    if len(sig) != 65:
        return None
    s = int.from_bytes(sig[32:64], "big")
    if sig[64] not in (27, 28) or s == 0 or s > SECP256K1_N // 2:
        return None
    return sig


def parse_message(text: str) -> AuthMessage:
    match = _MESSAGE.fullmatch(text)
    if match is None:
        raise AuthError("malformed auth message")
    address = match["address"]
    if not is_checksum_address(address):
        raise AuthError("the address in the auth message must be checksummed")
    return AuthMessage(
        domain=match["domain"],
        address=address,
        statement=match["statement"],
        uri=match["uri"],
        chain_id=int(match["chain_id"]),
        nonce=match["nonce"],
        issued_at=_parse_time(match["issued_at"]),
        expires_at=_parse_time(match["expires_at"]),
    )


def request_statement(method: str, target: str, body: bytes) -> str:
    """The statement that binds a signature to one request: method, target (path and query as sent,
    relative to the provider's base URL) and the SHA-256 of the body."""
    return f"PayGo request {method.upper()} {target} body-sha256 {hashlib.sha256(body).hexdigest()}"


def new_message(
    *,
    domain: str,
    address: str,
    uri: str,
    chain_id: int,
    now: int,
    method: str,
    target: str,
    body: bytes = b"",
    lifetime: int = DEFAULT_LIFETIME,
) -> AuthMessage:
    """A fresh message (random nonce) for the request ``method target`` with ``body``."""
    if len(target) > MAX_TARGET_CHARS or not target.startswith("/") or not target.isprintable():
        raise ValueError("the request target must be a printable path of at most 800 characters")
    statement = request_statement(method, target, body)
    return AuthMessage(
        domain=domain,
        address=address,
        statement=statement,
        uri=uri,
        chain_id=chain_id,
        nonce=secrets.token_hex(16),
        issued_at=now,
        expires_at=now + lifetime,
    )


def sign_headers(private_key: object, message: AuthMessage) -> dict[str, str]:
    """The two request headers carrying ``message`` signed by ``private_key``."""
    from paygo_desktop.protocol.routes import AUTH_MESSAGE_HEADER, AUTH_SIGNATURE_HEADER

    key = getattr(private_key, "key", private_key)
    text = message.text()
    signed = Account.sign_message(encode_defunct(text=text), key)
    return {
        AUTH_MESSAGE_HEADER: base64.b64encode(text.encode()).decode(),
        AUTH_SIGNATURE_HEADER: "0x" + bytes(signed.signature).hex(),
    }


def verify_headers(
    message_b64: str | None,
    signature: str | None,
    *,
    domain: str,
    chain_id: int,
    now: int,
    method: str,
    target: str,
    body: bytes,
    skew: int = 30,
    max_lifetime: int = 600,
) -> AuthMessage:
    """Check everything but the nonce's freshness (the caller records it) for the request ``method
    target`` with ``body``. Returns the message."""
    if not message_b64 or not signature:
        raise AuthError("missing signature authentication headers")
    if len(message_b64) > MAX_MESSAGE_BYTES * 2 or len(signature) > 200:
        raise AuthError("auth headers too long")
    try:
        text = base64.b64decode(message_b64, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise AuthError("auth message is not base64 UTF-8") from None
    msg = parse_message(text)
    if msg.domain != domain:
        raise AuthError("auth message is for another domain")
    if msg.chain_id != chain_id:
        raise AuthError("auth message is for another chain")
    if msg.issued_at > now + skew:
        raise AuthError("auth message issued in the future")
    if msg.expires_at <= now:
        raise AuthError("auth message expired")
    if msg.expires_at - msg.issued_at > max_lifetime or msg.expires_at < msg.issued_at:
        raise AuthError("auth message lifetime too long")
    if msg.statement != request_statement(method, target, body):
        raise AuthError("auth message was signed for another request (method, path, query or body)")
    sig = canonical_signature(signature)
    if sig is None:
        raise AuthError("malformed signature")
    try:
        signer = Account.recover_message(encode_defunct(text=text), signature=sig)
    except Exception:
        raise AuthError("bad signature") from None
    if signer != msg.address:
        raise AuthError("signature does not match the address")
    return msg
