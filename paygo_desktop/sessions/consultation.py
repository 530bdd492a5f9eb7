"""Chatting in a consultation a session delivers (the sandbox's chat room, sandbox.chat_room), for the
in-app chat pane: the room's messages ``{"from": "vendor" | "room", "text"}`` are handed to ``on_line``
as they arrive (parsed through bounded_json, size-bounded), what the user writes is sent with ``send``,
and how the chat ended goes to ``on_end``, once, in words for the user.

The chat goes through the session's local proxy (sessions.access_proxy), so this never holds the token.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass

from paygo_desktop import bounded_json
from paygo_desktop.peer_text import one_line
from paygo_desktop.protocol.proxying import CLOSE_SESSION_ENDED

MAX_MESSAGE = 8192  # bytes of one message from the room
MAX_TEXT = 2000  # characters of one message shown or sent
SENDERS = {"vendor": "Consultant", "room": "Room"}
SESSION_ENDED = "The session ended; the chat is closed."


@dataclass(frozen=True)
class ChatLine:
    sender: str  # "Consultant", "Room", or "You"
    text: str


def parse_line(message: str | bytes) -> ChatLine | None:
    """A line of the chat, or None for anything else (malformed, oversized, from nobody we know)."""
    if isinstance(message, bytes) or len(message) > MAX_MESSAGE:
        return None
    try:
        data = bounded_json.loads(message, max_bytes=MAX_MESSAGE)
    except ValueError:  # bounded_json.JSONRejected too
        return None
    if not isinstance(data, dict):
        return None
    sender, text = SENDERS.get(str(data.get("from"))), data.get("text")
    if sender is None or not isinstance(text, str) or not text.strip():
        return None
    line = one_line(text)  # "Sure.\nYou: I agree…" must not read as two messages, one of them yours
    return ChatLine(sender, line[:MAX_TEXT]) if line else None


def ending_words(code: int | None) -> str:
    if code == CLOSE_SESSION_ENDED:
        return SESSION_ENDED
    if code in (1000, 1001):
        return "The consultant's room closed the chat."
    return "The chat was interrupted."


class ChatClient:
    """One chat: ``run(url)`` until it closes; ``send`` (on the same event loop) while it is open.
    ``on_open`` is called once connected, ``on_line`` for each message, ``on_end`` once at the end."""

    def __init__(
        self,
        on_line: Callable[[ChatLine], None],
        on_end: Callable[[str], None],
        on_open: Callable[[], None] = lambda: None,
    ) -> None:
        self.on_line = on_line
        self.on_end = on_end
        self.on_open = on_open
        self.open = False
        self._outbox: asyncio.Queue[str] = asyncio.Queue()
        self._ended = False

    def send(self, text: str) -> ChatLine | None:
        """Queue ``text`` for the room; the line to show as the user's, or None (empty, or chat closed)."""
        text = text.strip()[:MAX_TEXT]
        if not text or not self.open:
            return None
        self._outbox.put_nowait(text)
        return ChatLine("You", text)

    def _end(self, words: str) -> None:
        self.open = False
        if not self._ended:
            self._ended = True
            self.on_end(words)

    async def run(self, url: str) -> None:
        """Chat at ``url`` until it closes; ``on_end`` says why (also when it cannot connect)."""
        from websockets.asyncio.client import connect
        from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException

        try:
            async with connect(url, proxy=None, open_timeout=10, max_size=MAX_MESSAGE) as ws:
                self.open = True
                self.on_open()

                async def write() -> None:
                    with contextlib.suppress(ConnectionClosed):
                        while True:
                            await ws.send(await self._outbox.get())

                writing = asyncio.ensure_future(write())
                try:
                    async for message in ws:
                        line = parse_line(message)
                        if line is not None:
                            self.on_line(line)
                except ConnectionClosed:
                    pass
                finally:
                    writing.cancel()
                self._end(ending_words(ws.close_code))
        except InvalidStatus as exc:
            gone = exc.response.status_code == 410
            self._end(SESSION_ENDED if gone else "The consultation refused the connection.")
        except (OSError, TimeoutError, WebSocketException):
            self._end("The consultation cannot be reached.")
        finally:
            self._end("The chat closed.")
