"""F4Jumble and its inverse: the unkeyed 4-round Feistel permutation of ZIP-316."""

from __future__ import annotations

import hashlib

_LH = 64  # BLAKE2b-512 output length in bytes, ℓ_H
MIN_LENGTH = 38
MAX_LENGTH = (2**16 + 1) * _LH  # ℓ^MAX_M = 4_194_368


class F4JumbleError(ValueError):
    """Input length outside what F4Jumble is defined for."""


def _h(i: int, u: bytes, out_len: int) -> bytes:
    return hashlib.blake2b(u, digest_size=out_len, person=b"UA_F4Jumble_H" + bytes([i, 0, 0])).digest()


def _g(i: int, u: bytes, out_len: int) -> bytes:
    blocks = []
    for j in range((out_len + _LH - 1) // _LH):
        person = b"UA_F4Jumble_G" + bytes([i]) + j.to_bytes(2, "little")
        blocks.append(hashlib.blake2b(u, digest_size=_LH, person=person).digest())
    return b"".join(blocks)[:out_len]


def _xor(a: bytes, b: bytes) -> bytes:
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).to_bytes(len(a), "big")


def _split(message: bytes) -> tuple[bytes, bytes]:
    if not MIN_LENGTH <= len(message) <= MAX_LENGTH:
        raise F4JumbleError(f"F4Jumble input must be {MIN_LENGTH} to {MAX_LENGTH} bytes, got {len(message)}")
    left = min(_LH, len(message) // 2)
    return message[:left], message[left:]


def f4jumble(message: bytes) -> bytes:
    a, b = _split(message)
    x = _xor(b, _g(0, a, len(b)))
    y = _xor(a, _h(0, x, len(a)))
    d = _xor(x, _g(1, y, len(x)))
    c = _xor(y, _h(1, d, len(y)))
    return c + d


def f4jumble_inv(jumbled: bytes) -> bytes:
    c, d = _split(jumbled)
    y = _xor(c, _h(1, d, len(c)))
    x = _xor(d, _g(1, y, len(d)))
    a = _xor(y, _h(0, x, len(y)))
    b = _xor(x, _g(0, a, len(x)))
    return a + b
