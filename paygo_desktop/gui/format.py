"""Small text helpers shared by the views."""

from __future__ import annotations

from datetime import UTC, datetime


def short_address(address: str) -> str:
    """0x1234…abcd"""
    if len(address) <= 12:
        return address
    return f"{address[:6]}…{address[-4:]}"


def local_time(at: datetime) -> str:
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone().strftime("%Y-%m-%d %H:%M")
