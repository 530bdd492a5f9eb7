"""Every bad input gets a 4xx JSON {code, message}; never a 500. Raw HTTP against the live provider."""

from __future__ import annotations

import json
from typing import Any

import pytest

from paygo_desktop.chain.vouchers import VaultDomain, sign_voucher
from paygo_desktop.protocol.models import ChannelParams
from tests.provider.conftest import Server, open_channel, voucher

TICK_COST = 5000


def _check(resp: Any, status: int | None = None) -> dict[str, Any]:
    assert 400 <= resp.status_code < 500, (resp.status_code, resp.text)
    if status is not None:
        assert resp.status_code == status, resp.text
    body = resp.json()
    assert isinstance(body["code"], str) and isinstance(body["message"], str)
    return body


def _start_body(server: Server, amount: Any = str(TICK_COST), **over: Any) -> dict[str, Any]:
    env = server.env
    ch = open_channel(env, 1_000_000)
    body = {
        "serviceId": "market-data-feed",
        "channel": ChannelParams.from_channel(ch).model_dump(mode="json", by_alias=True),
        "voucher": {"cumulativeAmount": amount, "signature": "0x" + voucher(env, ch, TICK_COST).hex()},
    }
    body.update(over)
    return body


def test_start_bad_inputs(server: Server) -> None:
    with server.http() as http:
        post = lambda body, **kw: http.post("/api/v1/streams/start", **({"json": body} | kw))  # noqa: E731
        _check(
            http.post(
                "/api/v1/streams/start", content=b"{not json", headers={"content-type": "application/json"}
            ),
            400,
        )
        _check(http.post("/api/v1/streams/start", content=b"", headers={"content-type": "application/json"}))
        _check(
            http.post(
                "/api/v1/streams/start", content=b"[1,2]", headers={"content-type": "application/json"}
            ),
            422,
        )
        _check(http.post("/api/v1/streams/start", content=b"x" * 70_000), 413)
        deep = b"[" * 5000 + b"]" * 5000
        _check(http.post("/api/v1/streams/start", content=deep, headers={"content-type": "application/json"}))
        _check(post(_start_body(server, amount="-5")), 422)
        _check(post(_start_body(server, amount=5000.0)), 422)
        _check(post(_start_body(server, amount="1e9")), 422)
        _check(post(_start_body(server, amount=True)), 422)
        _check(post(_start_body(server, amount=str(2**128))), 422)
        _check(post(_start_body(server, amount="9" * 500)), 422)
        _check(post(_start_body(server, serviceId=123)), 422)
        _check(post(_start_body(server, serviceId="../../etc")), 422)
        _check(post(_start_body(server, extra="field")), 422)
        body = _start_body(server)
        body["voucher"]["signature"] = "0x" + "11" * 65
        assert _check(post(body), 400)["code"] == "bad_signature"
        body["voucher"]["signature"] = "0xzz"
        _check(post(body), 422)
        body = _start_body(server)
        body["channel"]["payer"] = "0x123"
        _check(post(body), 422)
        body = _start_body(server)
        body["channel"]["provider"] = server.env.stranger.address
        assert _check(post(body), 400)["code"] == "wrong_provider"
        body = _start_body(server)
        body["channel"]["withdrawDelay"] = -1
        _check(post(body), 422)


@pytest.mark.parametrize("which", ["chain", "vault"])
def test_voucher_for_wrong_chain_or_vault_is_rejected(server: Server, which: str) -> None:
    env = server.env
    ch = open_channel(env, 1_000_000)
    domain = (
        VaultDomain(1, env.vault.address)
        if which == "chain"
        else VaultDomain(env.chain_id, env.contracts["vault2"])
    )
    body = {
        "serviceId": "market-data-feed",
        "channel": ChannelParams.from_channel(ch).model_dump(mode="json", by_alias=True),
        "voucher": {
            "cumulativeAmount": str(TICK_COST),
            "signature": "0x" + sign_voucher(env.payer, domain, ch, TICK_COST).hex(),
        },
    }
    with server.http() as http:
        assert _check(http.post("/api/v1/streams/start", json=body), 400)["code"] == "bad_signature"


def test_voucher_route_bad_inputs(server: Server) -> None:
    with server.http() as http:
        started = http.post("/api/v1/streams/start", json=_start_body(server))
        assert started.status_code == 201, started.text
        sid = started.json()["sessionId"]
        url = f"/api/v1/streams/{sid}/vouchers"
        sig = "0x" + "11" * 65
        _check(http.post(url, json={"seq": "1", "cumulativeAmount": "1", "signature": sig}), 422)
        _check(http.post(url, json={"seq": 0, "cumulativeAmount": "1", "signature": sig}), 422)
        _check(http.post(url, json={"seq": 1, "cumulativeAmount": "-1", "signature": sig}), 422)
        _check(http.post(url, json={"seq": 1, "cumulativeAmount": "NaN", "signature": sig}), 422)
        _check(
            http.post(
                url,
                content=b'{"seq": 1, "cumulativeAmount": NaN}',
                headers={"content-type": "application/json"},
            )
        )
        _check(http.post(url, json={"seq": 1, "cumulativeAmount": "6000", "signature": sig}), 400)
        _check(
            http.post(
                "/api/v1/streams/s_unknown/vouchers",
                json={"seq": 1, "cumulativeAmount": "1", "signature": sig},
            ),
            404,
        )
        _check(http.post("/api/v1/streams/" + "x" * 300 + "/vouchers", json={}), 422)
        _check(http.patch("/api/v1/streams/s_unknown/stop"), 404)
        _check(http.get(f"/api/v1/streams/{sid}/content"), 401)
        _check(http.get(f"/api/v1/streams/{sid}/content", headers={"authorization": "Bearer wrong"}), 401)


def test_query_and_path_bad_inputs(server: Server) -> None:
    with server.http() as http:
        for path in (
            "/api/v1/service?page=0",
            "/api/v1/service?page=abc",
            "/api/v1/service?pageSize=1000",
            "/api/v1/service?type=bogus",
            "/api/v1/service?search=" + "a" * 500,
            "/api/v1/service/%00",
            "/api/v1/channels/0x1234",
            "/api/v1/channels/" + "0x" + "ab" * 32,
            "/api/v1/no-such-route",
            "/api/v1/vendor/earnings?bucket=year",
            "/api/v1/vendor/sessions",
            "/api/v1/streams/my-sessions",
        ):
            _check(http.get(path))
        _check(http.delete("/api/v1/health"), 405)
        _check(http.post("/api/v1/service", json={"name": "x"}))
        ok = http.get("/api/v1/service?search=%25_%5C&pageSize=100")
        assert ok.status_code == 200 and json.loads(ok.text)["total"] == 0
