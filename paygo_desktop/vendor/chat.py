"""The vendor's side of a consultation (the sandbox's chat room, sandbox.chat_room): questions arrive as
lines ``[c1] <text>`` (and ``[c1] joined`` / ``[c1] left``); each line the vendor writes answers the
conversation heard from last, or the one it names first: ``@c2 <text>``. ``paygo-desktop provider chat``
runs it on stdin and stdout."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator, Callable

from paygo_desktop import bounded_json
from paygo_desktop.errors import UserFacingError
from paygo_desktop.peer_text import one_line

MAX_MESSAGE = 8192
_ADDRESSED = re.compile(r"^@(c\d{1,9})\s+(.+)$")


class ChatRelayError(UserFacingError):
    """The chat room cannot be reached or refused the vendor."""


def shown(raw: str | bytes) -> str | None:
    """One message of the room, as a line for the vendor; None for one that is not the room's."""
    try:
        data = bounded_json.loads(raw, max_bytes=MAX_MESSAGE)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    if isinstance(data.get("error"), str):
        return f"! {data['error'][:200]}"
    name = data.get("conversation")
    if not isinstance(name, str) or not re.fullmatch(r"c\d{1,9}", name):
        return None
    if data.get("event") in ("joined", "left"):
        return f"[{name}] {data['event']}"
    text = data.get("text")
    if not isinstance(text, str):
        return None
    return f"[{name}] " + one_line(text)  # one line per message, of visible characters


async def relay(url: str, secret: str, lines: AsyncIterator[str], out: Callable[[str], None]) -> str:
    """Relay the vendor's ``lines`` to the room at ``url`` and the room's messages to ``out`` until
    ``lines`` ends or the room closes; returns how it ended, in words."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException

    last: list[str] = []

    async def listen(ws: object) -> None:
        async for message in ws:  # type: ignore[attr-defined]
            line = shown(message)
            if line is None:
                continue
            if line.startswith("[") and not line.endswith("] left"):
                last[:] = [line[1 : line.index("]")]]
            out(line)

    async def speak(ws: object) -> None:
        async for line in lines:
            line = line.strip()
            if not line:
                continue
            addressed = _ADDRESSED.match(line)
            name, text = addressed.groups() if addressed else (last[0] if last else None, line)
            if name is None:
                out("! no conversation yet: wait for a question, or write @c1 <text>")
                continue
            await ws.send(json.dumps({"conversation": name, "text": text}))  # type: ignore[attr-defined]

    try:
        async with connect(
            url,
            proxy=None,
            open_timeout=10,
            max_size=MAX_MESSAGE * 4,
            additional_headers={"Authorization": f"Bearer {secret}"},
        ) as ws:
            out(f"connected to {url}: questions appear as [c1] …; type an answer, or @c1 <text>")
            listening = asyncio.ensure_future(listen(ws))
            speaking = asyncio.ensure_future(speak(ws))
            try:
                done, _ = await asyncio.wait({listening, speaking}, return_when=asyncio.FIRST_COMPLETED)
            finally:  # also when the relay itself is cancelled (the app quits, Ctrl-C): both end with it
                for task in (listening, speaking):
                    task.cancel()
                    with contextlib.suppress(BaseException):
                        await task
            return "the chat room closed" if listening in done else "input ended"
    except InvalidStatus as exc:
        raise ChatRelayError(
            f"the chat room refused the vendor (HTTP {exc.response.status_code}): is this its secret?"
        ) from None
    except ConnectionClosed:
        return "the chat room closed"
    except (OSError, TimeoutError, WebSocketException) as exc:
        raise ChatRelayError(f"cannot reach the chat room at {url}: {type(exc).__name__}") from None
