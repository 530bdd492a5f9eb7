"""A small secret (the recovery phrase) encrypted at rest under the wallet password.

scrypt (the wallet's ``KdfParams``, a random 16-byte salt) stretches the password into a 256-bit key;
AES-GCM (a random 12-byte nonce) encrypts and authenticates. The file is JSON::

    {"format": "paygo-secret-box", "version": 1, "kdf": "scrypt", "n": ..., "r": ..., "p": ...,
     "salt": b64, "nonce": b64, "ciphertext": b64}

The header is bound to the ciphertext as associated data, so editing the parameters breaks decryption.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from pathlib import Path
from typing import Any

from paygo_desktop.fileio import atomic_write_text
from paygo_desktop.wallet.errors import WalletError, WrongPassword
from paygo_desktop.wallet.kdf_params import PRODUCTION, KdfParams

FORMAT = "paygo-secret-box"
VERSION = 1
SALT_BYTES = 16
NONCE_BYTES = 12


def _derive_key(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(password.encode("utf-8"))


def _header(n: int, r: int, p: int, salt: bytes, nonce: bytes) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "version": VERSION,
        "kdf": "scrypt",
        "n": n,
        "r": r,
        "p": p,
        "salt": base64.b64encode(salt).decode("ascii"),
        "nonce": base64.b64encode(nonce).decode("ascii"),
    }


def _associated_data(header: dict[str, Any]) -> bytes:
    return json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")


def seal(secret: str, password: str, kdf: KdfParams = PRODUCTION) -> str:
    """The JSON text of a box holding ``secret`` under ``password``."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    salt, nonce = os.urandom(SALT_BYTES), os.urandom(NONCE_BYTES)
    header = _header(kdf.n, kdf.r, kdf.p, salt, nonce)
    key = _derive_key(password, salt, kdf.n, kdf.r, kdf.p)
    ciphertext = AESGCM(key).encrypt(nonce, secret.encode("utf-8"), _associated_data(header))
    box = {**header, "ciphertext": base64.b64encode(ciphertext).decode("ascii")}
    return json.dumps(box, indent=2, sort_keys=True) + "\n"


def open_box(text: str, password: str, source: str) -> str:
    """The secret in a box's JSON text; ``WrongPassword`` for a wrong password, ``WalletError`` if damaged."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    header, ciphertext = _parse(text, source)
    salt = base64.b64decode(header["salt"])
    nonce = base64.b64decode(header["nonce"])
    key = _derive_key(password, salt, header["n"], header["r"], header["p"])
    try:
        plain = AESGCM(key).decrypt(nonce, ciphertext, _associated_data(header))
    except InvalidTag:
        raise WrongPassword() from None
    return plain.decode("utf-8")


def _parse(text: str, source: str) -> tuple[dict[str, Any], bytes]:
    def damaged(what: str) -> WalletError:
        return WalletError(f"The encrypted recovery phrase {source} is damaged ({what}).")

    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        raise damaged("not valid JSON") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise damaged("not a PayGo secret box")
    if data.get("version") != VERSION:
        raise WalletError(
            f"The encrypted recovery phrase {source} has format version {data.get('version')!r}; "
            "a newer version of PayGo Desktop wrote it."
        )
    if data.get("kdf") != "scrypt":
        raise damaged(f"unsupported kdf {data.get('kdf')!r}")
    for name in ("n", "r", "p"):
        value = data.get(name)
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise damaged(f"bad kdf parameter {name!r}")
    if data["n"] & (data["n"] - 1) or 128 * data["n"] * data["r"] > 2**30:
        raise damaged("unusable scrypt cost")
    try:
        salt = base64.b64decode(data["salt"], validate=True)
        nonce = base64.b64decode(data["nonce"], validate=True)
        ciphertext = base64.b64decode(data["ciphertext"], validate=True)
    except (KeyError, TypeError, binascii.Error, ValueError):
        raise damaged("salt, nonce or ciphertext missing or not base64") from None
    if len(salt) != SALT_BYTES or len(nonce) != NONCE_BYTES or len(ciphertext) <= 16:
        raise damaged("salt, nonce or ciphertext of the wrong length")
    header = _header(data["n"], data["r"], data["p"], salt, nonce)
    return header, ciphertext


def write_box(path: Path, secret: str, password: str, kdf: KdfParams = PRODUCTION) -> None:
    """Seal ``secret`` into ``path`` (atomic write, 0600)."""
    atomic_write_text(path, seal(secret, password, kdf))


def read_box(path: Path, password: str) -> str:
    path = Path(path)
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        raise WalletError(f"The encrypted recovery phrase {path} is missing.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise WalletError(f"The encrypted recovery phrase {path} cannot be read ({exc}).") from None
    return open_box(text, password, str(path))
