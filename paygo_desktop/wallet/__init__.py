"""The wallet: keys, recovery phrase, keystore files, unlocking and signing. Qt-free.

Importing this package is cheap: eth-account loads only when a key is first used, and ``Wallet`` (which
needs the store) is imported on first access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from paygo_desktop.wallet.errors import (
    DuplicateAccount,
    InvalidMnemonic,
    InvalidPrivateKey,
    KeystoreFileError,
    WalletError,
    WalletLocked,
    WrongPassword,
)
from paygo_desktop.wallet.kdf_params import PRODUCTION, KdfParams

if TYPE_CHECKING:
    from paygo_desktop.wallet.wallet import Wallet

__all__ = [
    "PRODUCTION",
    "DuplicateAccount",
    "InvalidMnemonic",
    "InvalidPrivateKey",
    "KdfParams",
    "KeystoreFileError",
    "Wallet",
    "WalletError",
    "WalletLocked",
    "WrongPassword",
]


def __getattr__(name: str) -> Any:
    if name == "Wallet":
        from paygo_desktop.wallet.wallet import Wallet

        return Wallet
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
