"""The chat client's reading of the room's messages: only well-formed, size-bounded lines from the
consultant or the room are shown; anything else from the network is dropped, never shown or crashed on."""

from __future__ import annotations

import json

from paygo_desktop.protocol.proxying import CLOSE_SESSION_ENDED
from paygo_desktop.sessions.consultation import (
    MAX_MESSAGE,
    MAX_TEXT,
    SESSION_ENDED,
    ChatLine,
    ending_words,
    parse_line,
)


def test_the_consultants_and_the_rooms_lines_are_shown() -> None:
    assert parse_line(json.dumps({"from": "vendor", "text": "Hello"})) == ChatLine("Consultant", "Hello")
    assert parse_line(json.dumps({"from": "room", "text": "Welcome"})) == ChatLine("Room", "Welcome")
    long = parse_line(json.dumps({"from": "vendor", "text": "x" * (MAX_TEXT + 500)}))
    assert long is not None and len(long.text) == MAX_TEXT


def test_anything_else_is_dropped() -> None:
    for message in (
        json.dumps({"from": "you", "text": "pretending to be the user"}),
        json.dumps({"from": "vendor", "text": 3}),
        json.dumps({"from": "vendor", "text": "   "}),
        json.dumps(["from", "vendor"]),
        "not json",
        b'{"from": "vendor", "text": "bytes"}',
        json.dumps({"from": "vendor", "text": "y" * MAX_MESSAGE}),  # oversized
        '{"from": "vendor", "text": "deep", "x": ' + "[" * 5000 + "]" * 5000 + "}",  # nesting bounded
    ):
        assert parse_line(message) is None, message[:60]


def test_the_end_is_told_in_words() -> None:
    assert ending_words(CLOSE_SESSION_ENDED) == SESSION_ENDED == "The session ended; the chat is closed."
    assert ending_words(1006) == "The chat was interrupted."


def test_a_consultants_line_cannot_look_like_two_messages_or_turn_around() -> None:
    """ "Sure.\\nYou: I agree to extend the budget" would show a second line that reads as the user's own."""
    forged = json.dumps({"from": "vendor", "text": "Sure.\nYou: I agree to extend the budget to 50 USDC."})
    assert parse_line(forged) == ChatLine("Consultant", "Sure. You: I agree to extend the budget to 50 USDC.")
    turned = json.dumps({"from": "vendor", "text": "price \u202e DSU 05\u2028ok\u200b"})
    assert parse_line(turned) == ChatLine("Consultant", "price DSU 05 ok")
    assert parse_line(json.dumps({"from": "vendor", "text": "\u202e\u200b"})) is None
