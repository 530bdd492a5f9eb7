"""Vendor routes: EIP-4361-style signature auth by the provider's key; single-use nonces; freshness."""

from __future__ import annotations

import json
import time

import pytest

from paygo_desktop.protocol import models as m
from paygo_desktop.protocol.client import ProviderClient, ProviderHTTPError, Unauthorized
from tests.provider.conftest import Server, auth_headers

FIELDS = m.ServiceFields(
    name="Test stream",
    description="a test",
    category="testing",
    type=m.ServiceType.video,
    rate=m.Rate(amount=10, asset="USDC", unit=m.RateUnit.per_second),
    tick_seconds=5,
    grace_seconds=5,
)


def test_vendor_crud_with_provider_key(server: Server, client: ProviderClient) -> None:
    env = server.env
    created = env.run(client.create_service(env.provider, FIELDS))
    assert created.name == "Test stream" and created.vendor.address == env.provider.address
    toggled = env.run(client.toggle_service(env.provider, created.id))
    assert toggled.is_active is False
    page = env.run(client.list_services(search="test stream"))
    assert page.total == 0  # inactive services are hidden from the public catalog
    mine = env.run(client.my_services(env.provider))
    assert any(s.id == created.id for s in mine.items)
    updated = env.run(
        client.update_service(env.provider, created.id, FIELDS.model_copy(update={"name": "Renamed"}))
    )
    assert updated.name == "Renamed" and updated.is_active
    env.run(client.delete_service(env.provider, created.id))
    with pytest.raises(ProviderHTTPError) as gone:
        env.run(client.get_service(created.id))
    assert gone.value.status == 404


def test_vendor_auth_rejects_other_keys_and_replays(server: Server, client: ProviderClient) -> None:
    env = server.env
    with pytest.raises(Unauthorized) as other:
        env.run(client.create_service(env.stranger, FIELDS))
    assert other.value.status == 403
    body = json.dumps(FIELDS.model_dump(mode="json", by_alias=True)).encode()

    def signed(key: object = env.provider, payload: bytes = body, **kw: object) -> dict[str, str]:
        return auth_headers(server, key, "POST", "/api/v1/service", payload, **kw)

    with server.http() as http:
        assert http.post("/api/v1/service", content=body).status_code == 401
        good = signed()
        assert http.post("/api/v1/service", content=body, headers=good).status_code == 201
        replay = http.post("/api/v1/service", content=body, headers=good)
        assert replay.status_code == 401 and replay.json()["code"] == "nonce_reused"
        now = int(time.time())
        for bad in (
            signed(domain="evil.example"),
            signed(chain_id=1),
            signed(now=now - 3600),  # expired
            signed(now=now + 3600),  # from the future
            signed(lifetime=86_400),  # lifetime too long
            {**signed(), "X-PayGo-Auth-Signature": "0x" + "11" * 65},
            {**signed(), "X-PayGo-Auth-Message": "!!!not base64"},
            {**signed(), "X-PayGo-Auth-Message": "aGVsbG8="},
        ):
            resp = http.post("/api/v1/service", content=body, headers=bad)
            assert resp.status_code == 401, resp.text
            assert set(resp.json()) == {"code", "message"}
        # a signature over a different message from the same key
        a = signed()
        b = signed()
        mixed = {
            "X-PayGo-Auth-Message": a["X-PayGo-Auth-Message"],
            "X-PayGo-Auth-Signature": b["X-PayGo-Auth-Signature"],
            "Content-Type": "application/json",
        }
        assert http.post("/api/v1/service", content=body, headers=mixed).status_code == 401
        # service fields are validated too
        hostile = json.dumps({**json.loads(body), "name": "<script>alert(1)</script>"}).encode()
        assert (
            http.post("/api/v1/service", content=hostile, headers=signed(payload=hostile)).status_code == 422
        )
        unknown = {**json.loads(body), "rate": {"amount": "1", "asset": "DOGE", "unit": "per_second"}}
        unknown_asset = json.dumps(unknown).encode()
        resp = http.post("/api/v1/service", content=unknown_asset, headers=signed(payload=unknown_asset))
        assert resp.status_code == 422 and resp.json()["code"] == "unsupported_asset"
    assert time.time() > 0


def test_a_header_signed_for_one_request_is_refused_on_any_other(
    server: Server, client: ProviderClient
) -> None:
    """Issue 24 item 6: a header signed for GET /vendor/sessions deleted a service. Each header names its
    method, path with query, and body hash; the provider refuses it anywhere else."""
    env = server.env
    created = env.run(client.create_service(env.provider, FIELDS))
    victim = f"/api/v1/service/{created.id}"
    body = json.dumps(FIELDS.model_dump(mode="json", by_alias=True)).encode()
    with server.http() as http:
        for_sessions = auth_headers(server, env.provider, "GET", "/api/v1/vendor/sessions")
        moved = http.delete(victim, headers=for_sessions)
        assert moved.status_code == 401 and "another request" in moved.json()["message"]
        for_get = auth_headers(server, env.provider, "GET", victim)
        assert http.delete(victim, headers=for_get).status_code == 401  # another method
        for_query = auth_headers(server, env.provider, "GET", "/api/v1/vendor/earnings?from=0")
        assert http.get("/api/v1/vendor/earnings?from=5", headers=for_query).status_code == 401
        for_body = auth_headers(server, env.provider, "PUT", victim, body)
        tampered = body.replace(b"Test stream", b"Evil stream")
        assert http.put(victim, content=tampered, headers=for_body).status_code == 401
        assert env.run(client.get_service(created.id)).name == "Test stream"  # nothing changed
        # each header works for the request it names
        assert http.get("/api/v1/vendor/sessions", headers=for_sessions).status_code == 200
        assert http.put(victim, content=body, headers=for_body).status_code == 200
        assert http.get("/api/v1/vendor/earnings?from=0", headers=for_query).status_code == 200
        assert (
            http.delete(victim, headers=auth_headers(server, env.provider, "DELETE", victim)).status_code
            == 204
        )


def test_auth_nonces_are_pruned_once_expired_and_bounded_per_wallet(
    server: Server, client: ProviderClient
) -> None:
    """Issue 24 item 8: one row per throwaway wallet, forever. Expired nonces are deleted; a wallet holds a
    bounded number of unexpired ones; wallets with no business on a route leave none."""
    from eth_account import Account
    from sqlalchemy import select

    from paygo_desktop.provider import core
    from paygo_desktop.provider.store import NonceRow

    store = server.app.state.core.store

    def nonces() -> int:
        with store.tx() as db:
            return len(db.scalars(select(NonceRow.nonce)).all())

    mine = "/api/v1/streams/my-sessions"
    with server.http() as http:
        throwaways = [Account.create() for _ in range(20)]
        for key in throwaways:  # vendor routes: refused before any nonce is kept
            other = http.get(
                "/api/v1/vendor/sessions", headers=auth_headers(server, key, "GET", "/api/v1/vendor/sessions")
            )
            assert other.status_code == 403
        assert nonces() == 0
        for key in throwaways:  # a route any wallet may use: one nonce each, living 4 s (a busy machine
            # can take over a second to sign and send one)
            assert (
                http.get(mine, headers=auth_headers(server, key, "GET", mine, lifetime=4)).status_code == 200
            )
        assert nonces() == 20
        time.sleep(
            4.5
        )  # all of them expired (the last one was issued just now): the next request deletes them
        assert http.get(mine, headers=auth_headers(server, server.env.payer, "GET", mine)).status_code == 200
        assert nonces() == 1

        core_limit = core.NONCES_PER_WALLET
        core.NONCES_PER_WALLET = 3  # a smaller bound, for the test
        try:
            key = Account.create()
            for _ in range(3):
                assert http.get(mine, headers=auth_headers(server, key, "GET", mine)).status_code == 200
            busy = http.get(mine, headers=auth_headers(server, key, "GET", mine))
            assert busy.status_code == 429 and busy.json()["code"] == "too_many_requests"
            # the provider's own key is never held back
            for _ in range(5):
                vendor = auth_headers(server, server.env.provider, "GET", "/api/v1/vendor/sessions")
                assert http.get("/api/v1/vendor/sessions", headers=vendor).status_code == 200
        finally:
            core.NONCES_PER_WALLET = core_limit
