"""A hostile provider: the real reference provider's answers with figures changed on the way back.

``Tamper`` is an httpx transport for ``ProviderClient(url, transport=...)``: requests go to the real
provider over loopback unchanged; every JSON object in an answer that is a permission (it has
``ratePerHourZat``; also the one inside a session) is handed to ``change`` before the app sees it. Only the
answers are faked: nothing else can stand in for a provider that lies about what it deducted.
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


class Tamper(httpx.AsyncBaseTransport):
    def __init__(self, change: Callable[[dict[str, Any]], None]) -> None:
        self.change = change
        self.inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if not response.headers.get("content-type", "").startswith("application/json"):
            return response
        body = json.loads(await response.aread())
        for permission in _permissions(body):
            self.change(permission)
        return httpx.Response(response.status_code, json=body)

    async def aclose(self) -> None:
        await self.inner.aclose()


def tampering_clients(change: Callable[[dict[str, Any]], None]) -> Callable[[str], ProviderClient]:
    """A ``client_factory`` (permission book, session engine) whose clients see ``change``d answers."""
    return lambda url: ProviderClient(url, transport=Tamper(change))
