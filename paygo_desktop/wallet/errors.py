"""What can go wrong with the wallet, in words fit to show the user."""

from __future__ import annotations

from pathlib import Path

from paygo_desktop.errors import UserFacingError


class WalletError(UserFacingError):
    """The wallet cannot do what was asked; the message says why."""


class WrongPassword(WalletError):
    """The password does not open the wallet (or the keystore being imported)."""

    def __init__(self, message: str = "The password is wrong.") -> None:
        super().__init__(message)


class WalletLocked(WalletError):
    """A key was needed but the wallet is locked."""

    def __init__(self, message: str = "The wallet is locked. Unlock it with your password first.") -> None:
        super().__init__(message)


class KeystoreFileError(WalletError):
    """A keystore file that cannot be used: corrupt, truncated, not a keystore, or an unsupported kind."""

    def __init__(self, file: Path | str, problem: str) -> None:
        self.file = str(file)
        self.problem = problem
        super().__init__(f"The keystore file {self.file} {problem}.")


class InvalidMnemonic(WalletError):
    """Text that is not a valid BIP-39 recovery phrase."""


class InvalidPrivateKey(WalletError):
    """Text that is not a secp256k1 private key."""


class DuplicateAccount(WalletError):
    """The account is already in the wallet."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__(f"The account {address} is already in this wallet.")
