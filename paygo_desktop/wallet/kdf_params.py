"""How hard the password is stretched: scrypt's cost parameters, shared by keystores and the secret box."""

from __future__ import annotations

from dataclasses import dataclass

# eth-account's (eth-keyfile's) default for scrypt keystores: n=2**18, r=8, p=1 — about 0.8 s on a laptop.
PRODUCTION_SCRYPT_N = 2**18
KEYSTORE_SCRYPT_R = 8  # eth-keyfile always writes r=8, p=1; only n can be chosen
KEYSTORE_SCRYPT_P = 1


@dataclass(frozen=True, slots=True)
class KdfParams:
    """scrypt's n (CPU/memory cost, a power of two), r (block size) and p (parallelism).

    Keystore files are written by eth-account, which fixes r=8 and p=1, so those must not change here.
    Tests pass a cheap ``KdfParams(n=2**12)``; the app passes nothing and gets ``PRODUCTION``.
    """

    n: int = PRODUCTION_SCRYPT_N
    r: int = KEYSTORE_SCRYPT_R
    p: int = KEYSTORE_SCRYPT_P

    def __post_init__(self) -> None:
        if self.n < 2 or self.n & (self.n - 1):
            raise ValueError(f"scrypt n must be a power of two greater than 1, not {self.n}")
        if (self.r, self.p) != (KEYSTORE_SCRYPT_R, KEYSTORE_SCRYPT_P):
            raise ValueError("keystore files use scrypt r=8, p=1; other values are not supported")


PRODUCTION = KdfParams()
