"""Unlocking the wallet from a terminal or a script: a password file, or a prompt when there is a terminal."""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path
from typing import Any

from paygo_desktop.errors import UserFacingError


def read_password(password_file: Path | None) -> str:
    path = password_file or (
        Path(os.environ["PAYGO_PASSWORD_FILE"]) if "PAYGO_PASSWORD_FILE" in os.environ else None
    )
    if path is not None:
        try:
            return path.read_text("utf-8").rstrip("\r\n")
        except OSError as exc:
            raise UserFacingError(f"Cannot read the password file {path}: {exc.strerror}.") from None
    if not sys.stdin.isatty():
        raise UserFacingError(
            "The wallet is locked: give --password-file (or PAYGO_PASSWORD_FILE) to unlock it."
        )
    return getpass.getpass("Wallet password: ")


def unlocked_account(wallet: Any, address: str | None, password_file: Path | None) -> Any:
    """Unlock ``wallet`` and return the LocalAccount for ``address`` (default: the first account)."""
    accounts = wallet.accounts()
    if not accounts:
        raise UserFacingError("This data directory has no wallet yet: start the app once to create one.")
    if address is None:
        address = accounts[0].address
    elif not any(a.address.lower() == address.lower() for a in accounts):
        raise UserFacingError(f"The wallet has no account {address}.")
    wallet.unlock(read_password(password_file))
    return wallet.local_account(address)
