"""Asking before a headless command sends a transaction: its fee is shown first, and it is sent only on a
yes at a terminal, or with ``--yes`` from a script."""

from __future__ import annotations

import sys

from paygo_desktop.errors import UserFacingError


def confirm_fee(what: str, likely_fee: int, max_fee: int, *, assume_yes: bool) -> None:
    """Print ``what`` with its network fee (wei) on stderr; raise unless the user (or ``--yes``) agrees."""
    from paygo_desktop.money import ETH, Amount

    line = (
        f"{what}: network fee about {Amount(ETH, likely_fee).format(max_decimals=8)}, "
        f"at most {Amount(ETH, max_fee).format(max_decimals=8)}."
    )
    print(line, file=sys.stderr)
    if assume_yes:
        return
    if not sys.stdin.isatty():
        raise UserFacingError("Not sending without confirmation: add --yes to send from a script.")
    if input("Send? [y/N] ").strip().lower() not in ("y", "yes"):
        raise UserFacingError("Cancelled; nothing was sent.")
