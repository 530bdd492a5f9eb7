"""Bech32 / Bech32m (BIP-173, BIP-350) and Base58Check encodings.

Zcash uses these encodings with some twists: Sapling regtest addresses and
Unified Addresses are longer than the 90 characters BIP-173 allows, so the
length limit is a parameter (``max_length=None`` disables it).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import Enum

CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_CHARSET_REV = {c: i for i, c in enumerate(CHARSET)}
_GENERATOR = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)

BIP173_MAX_LENGTH = 90


class Bech32Error(ValueError):
    """A string is not valid Bech32/Bech32m, or data cannot be encoded."""


class Base58Error(ValueError):
    """A string is not valid Base58Check."""


class Encoding(Enum):
    BECH32 = 1
    BECH32M = 0x2BC830A3

    @property
    def constant(self) -> int:
        return self.value


@dataclass(frozen=True)
class Bech32Decoded:
    hrp: str
    data: bytes  # 8-bit payload (after 5→8 bit conversion)
    encoding: Encoding


def _polymod(values: list[int]) -> int:
    chk = 1
    for value in values:
        top = chk >> 25
        chk = ((chk & 0x1FFFFFF) << 5) ^ value
        for i, gen in enumerate(_GENERATOR):
            if (top >> i) & 1:
                chk ^= gen
    return chk


def _hrp_expand(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def _create_checksum(hrp: str, data: list[int], encoding: Encoding) -> list[int]:
    polymod = _polymod([*_hrp_expand(hrp), *data, 0, 0, 0, 0, 0, 0]) ^ encoding.constant
    return [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]


def convert_bits(data: bytes | list[int], from_bits: int, to_bits: int, pad: bool) -> list[int]:
    """General power-of-two base conversion (as used by BIP-173 segwit addresses).

    With ``pad=False`` any leftover bits must be fewer than ``from_bits`` and all zero.
    """
    acc = 0
    bits = 0
    out: list[int] = []
    maxv = (1 << to_bits) - 1
    max_acc = (1 << (from_bits + to_bits - 1)) - 1
    for value in data:
        if value < 0 or value >> from_bits:
            raise Bech32Error(f"value {value} does not fit in {from_bits} bits")
        acc = ((acc << from_bits) | value) & max_acc
        bits += from_bits
        while bits >= to_bits:
            bits -= to_bits
            out.append((acc >> bits) & maxv)
    if pad:
        if bits:
            out.append((acc << (to_bits - bits)) & maxv)
    elif bits >= from_bits:
        raise Bech32Error("excess padding")
    elif (acc << (to_bits - bits)) & maxv:
        raise Bech32Error("non-zero padding")
    return out


def _check_hrp(hrp: str) -> None:
    if not 1 <= len(hrp) <= 83:
        raise Bech32Error("human-readable part must be 1 to 83 characters")
    for c in hrp:
        if not 33 <= ord(c) <= 126:
            raise Bech32Error("human-readable part has a character outside US-ASCII 33-126")


def encode_words(hrp: str, words: list[int], encoding: Encoding, max_length: int | None = None) -> str:
    """Encode 5-bit ``words`` under ``hrp``. The result is lowercase."""
    _check_hrp(hrp)
    if hrp.lower() != hrp and hrp.upper() != hrp:
        raise Bech32Error("mixed-case human-readable part")
    hrp = hrp.lower()
    for w in words:
        if not 0 <= w < 32:
            raise Bech32Error("word out of range")
    combined = [*words, *_create_checksum(hrp, words, encoding)]
    result = hrp + "1" + "".join(CHARSET[d] for d in combined)
    if max_length is not None and len(result) > max_length:
        raise Bech32Error(f"encoding is {len(result)} characters, more than {max_length}")
    return result


def decode_words(bech: str, max_length: int | None = BIP173_MAX_LENGTH) -> tuple[str, list[int], Encoding]:
    """Decode a Bech32 or Bech32m string to (hrp, 5-bit words, encoding)."""
    if any(not 33 <= ord(c) <= 126 for c in bech):
        raise Bech32Error("character outside US-ASCII 33-126")
    if bech.lower() != bech and bech.upper() != bech:
        raise Bech32Error("mixed case")
    if max_length is not None and len(bech) > max_length:
        raise Bech32Error(f"string is {len(bech)} characters, more than {max_length}")
    bech = bech.lower()
    pos = bech.rfind("1")
    if pos < 1:
        raise Bech32Error("missing separator or empty human-readable part")
    if pos + 7 > len(bech):
        raise Bech32Error("checksum too short")
    hrp = bech[:pos]
    _check_hrp(hrp)
    try:
        data = [_CHARSET_REV[c] for c in bech[pos + 1 :]]
    except KeyError as exc:
        raise Bech32Error(f"invalid data character {exc.args[0]!r}") from None
    const = _polymod([*_hrp_expand(hrp), *data])
    if const == Encoding.BECH32.constant:
        encoding = Encoding.BECH32
    elif const == Encoding.BECH32M.constant:
        encoding = Encoding.BECH32M
    else:
        raise Bech32Error("invalid checksum")
    return hrp, data[:-6], encoding


def encode(hrp: str, payload: bytes, encoding: Encoding, max_length: int | None = BIP173_MAX_LENGTH) -> str:
    """Encode an 8-bit ``payload`` (converted to 5-bit words with padding)."""
    return encode_words(hrp, convert_bits(payload, 8, 5, True), encoding, max_length)


def decode(bech: str, max_length: int | None = BIP173_MAX_LENGTH) -> Bech32Decoded:
    """Decode to an 8-bit payload; the 5→8 bit conversion must have canonical padding."""
    hrp, words, encoding = decode_words(bech, max_length)
    return Bech32Decoded(hrp, bytes(convert_bits(words, 5, 8, False)), encoding)


def decode_expect(bech: str, encoding: Encoding, max_length: int | None = BIP173_MAX_LENGTH) -> Bech32Decoded:
    """Decode and require a particular checksum variant."""
    decoded = decode(bech, max_length)
    if decoded.encoding is not encoding:
        raise Bech32Error(f"expected {encoding.name} checksum, found {decoded.encoding.name}")
    return decoded


# --- Base58Check -----------------------------------------------------------

B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_REV = {c: i for i, c in enumerate(B58_ALPHABET)}


def _double_sha256(data: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


def b58encode(data: bytes) -> str:
    n = int.from_bytes(data, "big")
    chars: list[str] = []
    while n:
        n, rem = divmod(n, 58)
        chars.append(B58_ALPHABET[rem])
    leading = len(data) - len(data.lstrip(b"\x00"))
    return "1" * leading + "".join(reversed(chars))


def b58decode(text: str) -> bytes:
    n = 0
    for c in text:
        try:
            n = n * 58 + _B58_REV[c]
        except KeyError:
            raise Base58Error(f"invalid Base58 character {c!r}") from None
    body = n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""
    leading = len(text) - len(text.lstrip("1"))
    return b"\x00" * leading + body


def b58check_encode(payload: bytes) -> str:
    return b58encode(payload + _double_sha256(payload)[:4])


def b58check_decode(text: str) -> bytes:
    raw = b58decode(text)
    if len(raw) < 4:
        raise Base58Error("too short for a checksum")
    payload, checksum = raw[:-4], raw[-4:]
    if _double_sha256(payload)[:4] != checksum:
        raise Base58Error("invalid Base58Check checksum")
    return payload
