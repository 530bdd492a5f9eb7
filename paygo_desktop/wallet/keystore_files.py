"""Keystore files (Web3 Secret Storage v3): the format geth, foundry (cast), MetaMask and eth-account share.

Reading checks the structure first, so a damaged or foreign file gives a ``KeystoreFileError`` that names
the file and says what is wrong, instead of a ``KeyError`` deep inside a library. Encryption and
decryption are eth-account's. Both are slow on purpose (scrypt, ~0.8 s at production cost).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from paygo_desktop.fileio import atomic_write_text
from paygo_desktop.wallet.errors import KeystoreFileError, WrongPassword
from paygo_desktop.wallet.kdf_params import PRODUCTION, KdfParams

Keystore = dict[str, Any]

SUPPORTED_KDFS = ("scrypt", "pbkdf2")
SUPPORTED_CIPHER = "aes-128-ctr"
# scrypt needs 128·n·r bytes of memory; refuse files that ask for more than this rather than exhaust RAM.
MAX_SCRYPT_MEMORY = 2**30


def encrypt_keystore(private_key: bytes, password: str, kdf: KdfParams = PRODUCTION) -> Keystore:
    """A v3 keystore of ``private_key`` under ``password`` (scrypt with ``kdf.n``, r=8, p=1)."""
    from eth_account import Account

    return dict(Account.encrypt(private_key, password, kdf="scrypt", iterations=kdf.n))


def keystore_to_json(keystore: Keystore) -> str:
    return json.dumps(keystore, indent=2, sort_keys=True) + "\n"


def write_keystore_file(path: Path, keystore: Keystore) -> None:
    """Write atomically, readable by the user only (0600)."""
    atomic_write_text(path, keystore_to_json(keystore))


def read_keystore_file(path: Path) -> Keystore:
    """Load and check the structure of a keystore file; ``KeystoreFileError`` naming it if it is unusable."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise KeystoreFileError(path, "is missing") from None
    except OSError as exc:
        raise KeystoreFileError(path, f"cannot be read ({exc.strerror or exc.__class__.__name__})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise KeystoreFileError(path, "is not a keystore (it is not text)") from None
    return parse_keystore(text, str(path))


def parse_keystore(text: str, source: str) -> Keystore:
    """Parse keystore JSON text; ``source`` names it in errors (a path, or the name the user picked)."""
    stripped = text.strip()
    if not stripped:
        raise KeystoreFileError(source, "is empty")
    try:
        data = json.loads(stripped)
    except json.JSONDecodeError as exc:
        if exc.pos >= len(stripped) - 1 or "Unterminated" in exc.msg:
            raise KeystoreFileError(source, "is truncated (its JSON ends too early)") from None
        raise KeystoreFileError(source, f"is corrupt (not valid JSON at line {exc.lineno})") from None
    if not isinstance(data, dict):
        raise KeystoreFileError(source, "is not a keystore (it holds no JSON object)")
    keystore = {str(k).lower(): v for k, v in data.items()}  # old geth wrote "Crypto"
    crypto = keystore.get("crypto")
    if not isinstance(crypto, dict):
        raise KeystoreFileError(source, 'is not a keystore (it has no "crypto" section)')
    crypto = {str(k).lower(): v for k, v in crypto.items()}
    keystore["crypto"] = crypto
    version = keystore.get("version")
    if version != 3:
        raise KeystoreFileError(source, f"has keystore version {version!r}; only version 3 is supported")
    _check_crypto(crypto, source)
    return keystore


def _check_crypto(crypto: dict[str, Any], source: str) -> None:
    cipher = crypto.get("cipher")
    if cipher != SUPPORTED_CIPHER:
        raise KeystoreFileError(source, f"uses the cipher {cipher!r}; only {SUPPORTED_CIPHER} is supported")
    kdf = crypto.get("kdf")
    if kdf not in SUPPORTED_KDFS:
        raise KeystoreFileError(source, f"uses an unsupported kdf {kdf!r} (supported: scrypt, pbkdf2)")
    params = crypto.get("kdfparams")
    cipherparams = crypto.get("cipherparams")
    if not isinstance(params, dict) or not isinstance(cipherparams, dict):
        raise KeystoreFileError(source, "is corrupt (kdfparams or cipherparams missing)")
    _hex_field(crypto, "ciphertext", source)
    _hex_field(crypto, "mac", source, length=32)
    _hex_field(cipherparams, "iv", source, length=16)
    _hex_field(params, "salt", source)
    names = ("n", "r", "p", "dklen") if kdf == "scrypt" else ("c", "dklen")
    for name in names:
        value = params.get(name)
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise KeystoreFileError(source, f"is corrupt (kdf parameter {name!r} is not a positive number)")
    if params["dklen"] < 32:
        raise KeystoreFileError(source, "is corrupt (derived key length below 32)")
    if kdf == "scrypt" and 128 * params["n"] * params["r"] > MAX_SCRYPT_MEMORY:
        raise KeystoreFileError(source, "asks scrypt for more than 1 GiB of memory; it is not supported")
    if kdf == "pbkdf2" and params.get("prf") != "hmac-sha256":
        raise KeystoreFileError(source, f"uses an unsupported pbkdf2 function {params.get('prf')!r}")


def _hex_field(section: dict[str, Any], name: str, source: str, length: int | None = None) -> None:
    value = section.get(name)
    if not isinstance(value, str):
        raise KeystoreFileError(source, f"is corrupt (field {name!r} missing)")
    try:
        decoded = bytes.fromhex(value.removeprefix("0x"))
    except ValueError:
        raise KeystoreFileError(source, f"is corrupt (field {name!r} is not hexadecimal)") from None
    if not decoded or (length is not None and len(decoded) != length):
        raise KeystoreFileError(source, f"is corrupt (field {name!r} has the wrong length)")


def decrypt_keystore(keystore: Keystore, password: str, source: str) -> bytes:
    """The 32-byte private key inside a parsed keystore; ``WrongPassword`` if the MAC does not match."""
    from eth_account import Account

    try:
        key = bytes(Account.decrypt(keystore, password))
    except ValueError as exc:
        if "MAC mismatch" in str(exc):
            raise WrongPassword(f"The password does not open {source}.") from None
        raise KeystoreFileError(source, "is corrupt (it cannot be decrypted)") from None
    except (KeyError, TypeError):
        raise KeystoreFileError(source, "is corrupt (it cannot be decrypted)") from None
    if len(key) > 32 or not any(key):
        raise KeystoreFileError(source, "is corrupt (it does not hold a private key)")
    return key.rjust(32, b"\0")  # geth accepts keys stored without leading zero bytes


def keystore_address(keystore: Keystore) -> str | None:
    """The address the file claims (unchecked, may be absent), as 0x-prefixed lower-case hex."""
    address = keystore.get("address")
    if not isinstance(address, str) or not address:
        return None
    return "0x" + address.lower().removeprefix("0x")
