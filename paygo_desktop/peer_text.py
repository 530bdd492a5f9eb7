"""Text from another machine, read for what it is: a whole number only when it is written in ASCII digits,
and words shown in a list or a chat only as one line of visible characters (a name also cut to a length
that fits a line: ``shown``)."""

from __future__ import annotations


def is_digits(text: str) -> bool:
    """Only the ASCII digits 0-9, at least one: what a whole number from another machine may be written
    with. ``str.isdigit`` alone also accepts "²" and other digits that ``int`` refuses with a ValueError."""
    return text.isascii() and text.isdigit()


def one_line(text: str) -> str:
    """``text`` as one line of visible characters: every line break, tab, invisible or direction-changing
    character becomes a space, and runs of spaces one (a chat line "Sure.\\nYou: I agree…" would otherwise
    read as two messages, the second the user's own)."""
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())


NAME_CHARS = 60  # a name from another machine, as shown beside amounts on one line


def shown(text: str, limit: int = NAME_CHARS) -> str:
    """``text`` as ``one_line`` makes it, at most ``limit`` characters: cut with "…" when longer (a provider
    may name itself with 10,000 characters)."""
    line = one_line(text)
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"
