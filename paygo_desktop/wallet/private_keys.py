"""Private keys as the user types them, and the address each one controls."""

from __future__ import annotations

from paygo_desktop.wallet.errors import InvalidPrivateKey

# The order of secp256k1's group: a private key is an integer in [1, N - 1].
SECP256K1_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def parse_private_key(text: str) -> bytes:
    """32 bytes from 64 hex digits (``0x`` optional, outer spaces ignored), else ``InvalidPrivateKey``."""
    cleaned = text.strip()
    if cleaned[:2].lower() == "0x":
        cleaned = cleaned[2:]
    if len(cleaned) != 64:
        raise InvalidPrivateKey(f"A private key is 64 hex digits; this has {len(cleaned)} characters.")
    try:
        key = bytes.fromhex(cleaned)
    except ValueError:
        raise InvalidPrivateKey("A private key has only the digits 0-9 and letters a-f.") from None
    if not 0 < int.from_bytes(key, "big") < SECP256K1_ORDER:
        raise InvalidPrivateKey("This is not a valid private key (it is outside secp256k1's range).")
    return key


def address_of(private_key: bytes) -> str:
    """The EIP-55 checksummed address of a 32-byte private key."""
    from eth_keys import keys

    return str(keys.PrivateKey(private_key).public_key.to_checksum_address())
