"""A session paid from a Zcash spending permission gets its service through the gateway like an escrow
session: with its own access token (never the permission's), refused (410) once it ends or its permission
runs out, and its open WebSocket closed within the watch interval. The provider in ledger mode over
loopback, the sandbox's real upstreams."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from paygo_desktop.protocol import models as m
from paygo_desktop.protocol import zcash_models as zm
from paygo_desktop.protocol.client import ProviderClient
from tests.provider.conftest import Server, provider_server
from tests.provider.gateway_world import API, CUT_WITHIN, FEED, WATCH, Upstreams, gateway_services
from tests.provider.test_zcash_permissions import MIN_CONF, USER_Z

AMOUNT, RATE = 1_000_000, 400_000  # 9,000 seconds at this rate


@pytest.fixture
def zgateway(env: Any, tmp_path: Path) -> Iterator[tuple[Server, ProviderClient]]:
    upstreams = Upstreams()
    zcash = {"mode": "ledger", "network": "test", "min_confirmations": MIN_CONF}
    try:
        with provider_server(
            env, tmp_path, zcash=zcash, services=gateway_services(upstreams), gateway_watch_interval=WATCH
        ) as server:
            client = ProviderClient(server.url, timeout=10)
            try:
                yield server, client
            finally:
                env.run(client.aclose())
    finally:
        upstreams.stop()


def _permission(server: Server, client: ProviderClient) -> zm.ZcashPermission:
    run = server.env.run
    p = run(client.create_zcash_permission(USER_Z, AMOUNT, RATE))
    run(client.ledger_pay(p.payment_address, AMOUNT, p.memo))
    run(client.ledger_mine(MIN_CONF))
    assert run(client.verify_zcash_permission(p.id)).status is zm.ZcashPermissionStatus.active
    return p


def test_a_zcash_session_gets_its_service_with_its_own_token_and_loses_it_when_it_ends(
    zgateway: tuple[Server, ProviderClient],
) -> None:
    server, client = zgateway
    permission = _permission(server, client)
    started = server.env.run(client.start_zcash_session(permission.id, API, permission.token or ""))
    access = started.access
    assert access is not None and access.delivery is m.Delivery.http
    assert access.service_url == f"{server.url}/api/v1/streams/{started.session_id}/access/"
    assert access.token != permission.token  # the session's own key: the permission's stays with the payer
    url = access.service_url + "weather"
    with httpx.Client(timeout=10) as http:
        ok = http.get(url, params={"city": "Quito"}, headers={"Authorization": f"Bearer {access.token}"})
        assert ok.status_code == 200 and ok.json()["city"] == "Quito"
        for wrong in (permission.token, "nope"):
            assert http.get(url, headers={"Authorization": f"Bearer {wrong}"}).status_code == 401
        assert http.get(url).status_code == 401

        server.env.run(client.end_zcash_session(started.session_id, permission.token or ""))
        gone = http.get(url, headers={"Authorization": f"Bearer {access.token}"})
        assert gone.status_code == 410 and gone.json()["code"] == "access_revoked"


def test_when_the_permission_runs_out_the_service_ends_and_its_feed_is_closed(
    zgateway: tuple[Server, ProviderClient],
) -> None:
    server, client = zgateway
    permission = _permission(server, client)
    started = server.env.run(client.start_zcash_session(permission.id, FEED, permission.token or ""))
    access = started.access
    assert access is not None and access.delivery is m.Delivery.websocket
    headers = {"Authorization": f"Bearer {access.token}"}

    async def go() -> None:
        async with connect("ws" + access.service_url.removeprefix("http"), additional_headers=headers) as ws:
            quote = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert "symbol" in quote
            server.clock.advance(AMOUNT * 3600 // RATE + 1)  # the permission is used up
            deadline = asyncio.get_running_loop().time() + CUT_WITHIN + 5
            with pytest.raises(ConnectionClosed) as closed:
                while asyncio.get_running_loop().time() < deadline:  # quotes keep coming until the cut
                    await asyncio.wait_for(ws.recv(), CUT_WITHIN + 5)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4410

    server.env.run(go())
    with httpx.Client(timeout=10) as http:
        later = http.get(access.service_url, headers=headers)
        assert later.status_code == 410
