"""Following a market data feed a session delivers (the sandbox's feed: JSON text messages
``{"symbol", "price", ...}``), for the in-app live view: each quote is handed to ``on_quote`` as it
arrives, and how the feed ended to ``on_end``, once, in words for the user.

The feed is read from the session's local proxy (sessions.access_proxy), so this never holds the token.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from paygo_desktop import bounded_json
from paygo_desktop.protocol.proxying import CLOSE_SESSION_ENDED

MAX_MESSAGE = 4096  # a quote is a few dozen bytes; anything longer is not one
_PRICE = re.compile(r"^\d{1,15}(\.\d{1,18})?$")
_SYMBOL = re.compile(r"^[A-Z0-9][A-Z0-9._/-]{0,19}$")


@dataclass(frozen=True)
class Quote:
    symbol: str
    price: str  # a decimal text, as the feed sent it (shown, never computed with)


def parse_quote(message: str | bytes) -> Quote | None:
    """A quote, or None for anything else (an acknowledgement, a malformed or oversized message)."""
    if isinstance(message, bytes) or len(message) > MAX_MESSAGE:
        return None
    try:
        data = bounded_json.loads(message, max_bytes=MAX_MESSAGE)  # nesting bounded, as all network JSON
    except ValueError:  # bounded_json.JSONRejected too
        return None
    if not isinstance(data, dict):
        return None
    symbol, price = data.get("symbol"), data.get("price")
    if not isinstance(symbol, str) or not isinstance(price, str):
        return None
    if not _SYMBOL.match(symbol) or not _PRICE.match(price):
        return None
    return Quote(symbol, price)


def ending_words(code: int | None) -> str:
    if code == CLOSE_SESSION_ENDED:
        return "The session ended: the feed is closed."
    if code in (1000, 1001):
        return "The feed closed."
    return "The feed was interrupted."


async def follow(url: str, on_quote: Callable[[Quote], None], on_end: Callable[[str], None]) -> None:
    """Read the feed at ``url`` until it closes; ``on_end`` says why (also when it cannot connect)."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException

    try:
        async with connect(url, proxy=None, open_timeout=10, max_size=MAX_MESSAGE * 4) as ws:
            try:
                async for message in ws:
                    quote = parse_quote(message)
                    if quote is not None:
                        on_quote(quote)
            except ConnectionClosed:
                pass
            on_end(ending_words(ws.close_code))
    except InvalidStatus as exc:
        gone = exc.response.status_code == 410
        on_end("The session ended: the feed is closed." if gone else "The feed refused the connection.")
    except (OSError, TimeoutError, WebSocketException):
        on_end("The feed cannot be reached.")
