"""A Zcash permission's bearer token, sealed at rest under a key only the unlocked wallet can derive.

The provider hands out the token once, in its answer to "create a permission"; whoever holds it can start
sessions on the permission and revoke it, so it is a secret like a key. It is kept in the store sealed:

    key   = HKDF-SHA256(the private key of the account that bought the permission, info=INFO)
    box   = AES-GCM(key, random 12-byte nonce, token, associated data = provider URL + permission id)
    text  = "v1." + base64url(nonce + ciphertext)

The key needs no file and no extra password: it is derived again from the account's key whenever the
wallet is unlocked, and from the recovery phrase after a restore. The associated data binds a box to its
permission, so a sealed token copied onto another row does not open. The clear token never reaches the
database, the settings or the logs.
"""

from __future__ import annotations

import base64
import binascii
import os

from paygo_desktop.errors import UserFacingError

PREFIX = "v1."
INFO = b"paygo-desktop/zcash-permission-token/v1"
NONCE_BYTES = 12
MAX_TOKEN_CHARS = 128


class TokenSealError(UserFacingError):
    """A sealed token cannot be opened (another account's, damaged, or bound to another permission)."""


def _key(account_key: bytes) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    if len(account_key) < 32:
        raise ValueError("the account key must be at least 32 bytes")
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=INFO).derive(bytes(account_key))


def _binding(provider_url: str, permission_id: str) -> bytes:
    return f"{provider_url}\x00{permission_id}".encode()


def seal_token(token: str, account_key: bytes, provider_url: str, permission_id: str) -> str:
    """The sealed text of ``token`` for the permission ``permission_id`` at ``provider_url``."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    if not token or len(token) > MAX_TOKEN_CHARS:
        raise ValueError("a permission token is 1 to 128 characters")
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(_key(account_key)).encrypt(
        nonce, token.encode("utf-8"), _binding(provider_url, permission_id)
    )
    return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")


def open_token(sealed: str, account_key: bytes, provider_url: str, permission_id: str) -> str:
    """The clear token; ``TokenSealError`` when the box is not this account's, not this permission's, or
    damaged."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    if not sealed.startswith(PREFIX):
        raise TokenSealError("The stored permission token is in an unknown format.")
    try:
        raw = base64.urlsafe_b64decode(sealed[len(PREFIX) :].encode("ascii"))
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise TokenSealError("The stored permission token is damaged.") from None
    if len(raw) <= NONCE_BYTES + 16:
        raise TokenSealError("The stored permission token is damaged.")
    try:
        plain = AESGCM(_key(account_key)).decrypt(
            raw[:NONCE_BYTES], raw[NONCE_BYTES:], _binding(provider_url, permission_id)
        )
    except InvalidTag:
        raise TokenSealError(
            "The stored permission token does not open with this account's key (damaged, or moved)."
        ) from None
    return plain.decode("utf-8")
