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


def clock_duration(seconds: int) -> str:
    """1:02:03 (hours:minutes:seconds); minutes and seconds only under an hour (02:03)."""
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def duration_words(seconds: int) -> str:
    """What a span of time reads like to a person: "42 minutes", "1 hour 5 minutes", "3 days 4 hours"."""

    def unit(n: int, word: str) -> str:
        return f"{n} {word}{'' if n == 1 else 's'}"

    seconds = max(0, int(seconds))
    if seconds < 60:
        return unit(seconds, "second")
    minutes = seconds // 60
    if minutes < 60:
        return unit(minutes, "minute")
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return unit(hours, "hour") + (f" {unit(minutes, 'minute')}" if minutes else "")
    days, hours = divmod(hours, 24)
    return unit(days, "day") + (f" {unit(hours, 'hour')}" if hours else "")


def short_amount(amount: Amount, decimals: int = 6) -> str:
    """At most ``decimals`` decimals; "≈" says when digits were cut (the exact figure goes in a tooltip)."""
    return amount.approx(decimals)


def plain_tooltip(text: str) -> str:
    """``text`` shown as a tooltip exactly as it is. Qt renders a tooltip that looks like HTML as HTML, and
    tooltips carry other machines' words (a provider's stop reason, a server's error, a client's brief):
    escaped inside ``<qt>`` it is always rich text, and always shows these characters, not markup."""
    import html

    return "<qt>" + html.escape(text).replace("\n", "<br>") + "</qt>"
