"""A hostile provider: the real reference provider's answers with figures changed on the way back.

``Tamper`` is an httpx transport for ``ProviderClient(url, transport=...)``: requests go to the real
provider over loopback unchanged; every JSON object in an answer that is a permission (it has
``ratePerHourZat``; also the one inside a session) is handed to ``change`` before the app sees it, and a
session answer itself (it has ``sessionId`` and a ``permission``) to ``session_change`` with the request it
answers. Only the answers are faked: nothing else can stand in for a provider that lies about what it
deducted.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx

from paygo_desktop.protocol.client import ProviderClient


def _permissions(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        found = [value] if "ratePerHourZat" in value else []
        return found + [p for v in value.values() for p in _permissions(v)]
    if isinstance(value, list):
        return [p for v in value for p in _permissions(v)]
    return []


PermissionChange = Callable[[dict[str, Any]], None]
SessionChange = Callable[[httpx.Request, dict[str, Any]], None]


def _unchanged(permission: dict[str, Any]) -> None:
    pass


class Tamper(httpx.AsyncBaseTransport):
    def __init__(self, change: PermissionChange, session_change: SessionChange | None = None) -> None:
        self.change = change
        self.session_change = session_change
        self.inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if not response.headers.get("content-type", "").startswith("application/json"):
            return response
        body = json.loads(await response.aread())
        if self.session_change is not None and isinstance(body, dict) and "sessionId" in body:
            self.session_change(request, body)
        for permission in _permissions(body):
            self.change(permission)
        return httpx.Response(response.status_code, json=body)

    async def aclose(self) -> None:
        await self.inner.aclose()


def tampering_clients(
    change: PermissionChange = _unchanged, session_change: SessionChange | None = None
) -> Callable[[str], ProviderClient]:
    """A ``client_factory`` (permission book, session engine) whose clients see ``change``d answers."""
    return lambda url: ProviderClient(url, transport=Tamper(change, session_change))
