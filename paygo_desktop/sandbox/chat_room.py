"""The sandbox's consultation: a WebSocket chat room between the users who pay for it (through the
provider's gateway) and the vendor who answers (``paygo-desktop provider chat``, on loopback).

* ``/user`` (the gateway's upstream): each connection is one conversation, named ``c<n>`` by the room.
  A text message is the user's question (at most ``MAX_TEXT`` characters; longer is cut). The room
  answers with JSON text ``{"from": "vendor" | "room", "text": …}``: the vendor's answers, and the
  room's own notes (who is there).
* ``/vendor``: the consultant's side, with ``Authorization: Bearer <secret>`` (the room's vendor secret;
  anything else is refused before the handshake completes, so nobody else on the machine answers in the
  vendor's name). It receives ``{"conversation": "c1", "text": …}`` for each question and
  ``{"conversation": "c1", "event": "joined" | "left"}``; it sends ``{"conversation": "c1", "text": …}``
  to answer one conversation. A message it cannot use is answered with ``{"error": …}``.

The gateway reaches ``/user`` only (its upstream's path): ``/vendor`` is never reachable through it.
"""

from __future__ import annotations

import hmac
import json
import time
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from paygo_desktop import bounded_json

MAX_TEXT = 2000  # characters of one chat message
MAX_MESSAGE = 8192  # bytes of one JSON message from the vendor


class Room:
    """Who is connected: the users' conversations by name, and the vendor's sockets."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.users: dict[str, WebSocket] = {}
        self.vendors: set[WebSocket] = set()
        self.opened = 0

    async def to_vendors(self, message: dict[str, Any]) -> int:
        text = json.dumps(message)
        sent = 0
        for vendor in list(self.vendors):
            try:
                await vendor.send_text(text)
                sent += 1
            except (RuntimeError, OSError, WebSocketDisconnect):
                self.vendors.discard(vendor)
        return sent

    async def user(self, websocket: WebSocket) -> None:
        """One user's conversation: questions to the vendor, answers back."""
        await websocket.accept()
        self.opened += 1
        name = f"c{self.opened}"
        self.users[name] = websocket
        try:
            online = await self.to_vendors({"conversation": name, "event": "joined"})
            await _say(
                websocket,
                "room",
                "A consultant is here: ask your question."
                if online
                else "No consultant is connected yet: write your question, they see it when they join.",
            )
            while True:
                text = (await websocket.receive_text())[:MAX_TEXT]
                if not await self.to_vendors({"conversation": name, "text": text}):
                    await _say(websocket, "room", "No consultant is connected right now.")
        except (WebSocketDisconnect, RuntimeError, OSError, KeyError, TypeError):  # a binary message too
            pass
        finally:
            self.users.pop(name, None)
            await self.to_vendors({"conversation": name, "event": "left"})

    async def vendor(self, websocket: WebSocket) -> None:
        """The consultant's side: refused without the room's secret; then answers to conversations."""
        header = websocket.headers.get("authorization", "")
        given = header[7:] if header.lower().startswith("bearer ") else ""
        if not hmac.compare_digest(given.encode(), self.secret.encode()):
            await websocket.close(code=4401)  # before accept: the handshake is refused (403)
            return
        await websocket.accept()
        self.vendors.add(websocket)
        try:
            for name in list(self.users):
                await websocket.send_text(json.dumps({"conversation": name, "event": "joined"}))
            while True:
                problem = await self._answer(await websocket.receive_text())
                if problem is not None:
                    await websocket.send_text(json.dumps({"error": problem}))
        except (WebSocketDisconnect, RuntimeError, OSError, KeyError, TypeError):  # a binary message too
            pass
        finally:
            self.vendors.discard(websocket)

    async def _answer(self, raw: str) -> str | None:
        """Pass one vendor message to its conversation; what is wrong with it, if anything."""
        try:
            data = bounded_json.loads(raw, max_bytes=MAX_MESSAGE)
            name, text = data["conversation"], data["text"]
            if not isinstance(name, str) or not isinstance(text, str) or not text:
                raise ValueError
        except (ValueError, KeyError, TypeError):
            return 'send {"conversation", "text"}'
        target = self.users.get(name)
        if target is None:
            return f"no conversation {name[:20]}"
        try:
            await _say(target, "vendor", text[:MAX_TEXT])
        except (RuntimeError, OSError, WebSocketDisconnect):
            self.users.pop(name, None)
        return None


async def _say(websocket: WebSocket, sender: str, text: str) -> None:
    await websocket.send_text(json.dumps({"from": sender, "text": text, "time": time.time()}))


def chat_app(secret: str) -> Starlette:
    """The chat room; ``secret`` is what the vendor's side must present (``Authorization: Bearer``)."""
    if len(secret) < 16:
        raise ValueError("the chat room's vendor secret must be at least 16 characters")
    room = Room(secret)

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "service": "consultation", "vendors": len(room.vendors)})

    app = Starlette(
        routes=[
            WebSocketRoute("/user", room.user),
            WebSocketRoute("/vendor", room.vendor),
            Route("/health", health),
        ]
    )
    app.state.room = room
    return app
