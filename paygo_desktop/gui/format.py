"""Small text helpers shared by the views."""

from __future__ import annotations

from datetime import UTC, datetime

from paygo_desktop.money import Amount


def short_address(address: str) -> str:
    """0x1234…abcd"""
    if len(address) <= 12:
        return address
    return f"{address[:6]}…{address[-4:]}"


def local_time(at: datetime) -> str:
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone().strftime("%Y-%m-%d %H:%M")


def short_amount(amount: Amount, decimals: int = 6) -> str:
    """At most ``decimals`` decimals; "≈" says when digits were cut (the exact figure goes in a tooltip)."""
    shown = amount.format(max_decimals=decimals)
    return shown if shown == amount.format() else f"≈ {shown}"
