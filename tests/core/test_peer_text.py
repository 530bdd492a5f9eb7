"""Text from another machine (``peer_text``): numbers only in ASCII digits, listed words on one line."""

from __future__ import annotations

import pytest

from paygo_desktop.peer_text import is_digits, one_line


@pytest.mark.parametrize(
    "text, digits",
    [("0", True), ("12", True), ("", False), ("\u00b2", False), ("\u0663", False), ("1 ", False)],
)
def test_only_ascii_digits_are_digits(text, digits):
    assert is_digits(text) is digits
    if digits:
        int(text)


def test_one_line_keeps_the_words_and_nothing_that_breaks_or_turns_them():
    assert one_line("Sure.\nYou: I agree") == "Sure. You: I agree"
    assert one_line("price \u202e DSU 05\u2028ok\u200b\t") == "price DSU 05 ok"
    assert one_line("\u202e\u200b ") == ""
