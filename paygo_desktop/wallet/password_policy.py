"""The rules a new wallet password must meet."""

from __future__ import annotations

from paygo_desktop.wallet.errors import WalletError

MIN_PASSWORD_LENGTH = 8


class WeakPassword(WalletError):
    """A new password that breaks the rules: too short, or its confirmation differs."""


def check_new_password(password: str, confirmation: str) -> None:
    """Raise ``WeakPassword`` with a message for the user unless ``password`` is acceptable."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"Use at least {MIN_PASSWORD_LENGTH} characters.")
    if password != confirmation:
        raise WeakPassword("The two passwords differ.")
