"""Zcash spending permissions end to end: the app's ProviderClient against the reference provider over
loopback, in ledger mode (payments are made by calling the provider's local ledger), with the test clock."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from paygo_desktop.protocol import zcash_models as zm
from paygo_desktop.protocol.client import (
    NotFound,
    PaymentRequired,
    ProviderClient,
    ProviderHTTPError,
    SessionGone,
    Unauthorized,
)
from paygo_desktop.zcash.addresses import (
    AddressKind,
    Network,
    encode_sapling,
    encode_transparent,
    parse_address,
)
from paygo_desktop.zcash.zip321 import parse_uri
from tests.provider.conftest import Server, provider_server

SVC = "lofi-radio"
AMOUNT, RATE = 1_000_000, 400_000  # 2.5 hours: 9000 s
MAX_SECONDS = AMOUNT * 3600 // RATE
MIN_CONF = 2
USER_Z = encode_sapling(Network.TEST, bytes(range(43)))
USER_T = encode_transparent(AddressKind.P2PKH, Network.TEST, bytes(range(20)))


@pytest.fixture
def zserver(env: Any, tmp_path: Path) -> Iterator[Server]:
    zcash = {"mode": "ledger", "network": "test", "min_confirmations": MIN_CONF}
    with provider_server(env, tmp_path, zcash=zcash) as s:
        yield s


@pytest.fixture
def zclient(zserver: Server) -> Iterator[ProviderClient]:
    c = ProviderClient(zserver.url, timeout=10)
    try:
        yield c
    finally:
        zserver.env.run(c.aclose())


def _paid(
    s: Server, c: ProviderClient, amount: int = AMOUNT, rate: int = RATE, **kw: Any
) -> zm.ZcashPermission:
    run = s.env.run
    p = run(c.create_zcash_permission(USER_Z, amount, rate, **kw))
    run(c.ledger_pay(p.payment_address, amount, p.memo))
    run(c.ledger_mine(MIN_CONF))
    v = run(c.verify_zcash_permission(p.id))
    assert v.status is zm.ZcashPermissionStatus.active
    return p  # carries the token


def test_create_pay_verify_session_exhaust(zserver: Server, zclient: ProviderClient) -> None:
    run, c, clock = zserver.env.run, zclient, zserver.clock
    assert run(c.provider_info()).zcash is True
    p = run(c.create_zcash_permission(USER_Z, AMOUNT, RATE))
    assert p.status is zm.ZcashPermissionStatus.pending_payment
    assert p.verification is zm.ZcashVerification.awaiting_payment
    assert p.amount_zat == AMOUNT and p.rate_per_hour_zat == RATE and p.max_seconds == MAX_SECONDS
    assert p.max_hours == "2.50" and p.remaining_zat == AMOUNT and p.token
    assert p.expires_at == p.created_at + 30 * 86400
    addr = parse_address(p.payment_address)
    assert addr.network is Network.TEST and addr.is_shielded
    req = parse_uri(p.payment_uri).payments[0]
    assert req.address == p.payment_address and req.amount_zat == AMOUNT
    assert req.memo == f"paygo:perm:{p.id}".encode() == (p.memo or "").encode()
    # one receiving address per permission
    other = run(c.create_zcash_permission(USER_Z, AMOUNT, RATE))
    assert other.payment_address != p.payment_address

    assert run(c.verify_zcash_permission(p.id)).verification is zm.ZcashVerification.awaiting_payment
    tx = run(c.ledger_pay(p.payment_address, AMOUNT, p.memo))
    assert tx.confirmations == 0
    v = run(c.verify_zcash_permission(p.id))
    assert (
        v.verification is zm.ZcashVerification.seen and v.status is zm.ZcashPermissionStatus.pending_payment
    )
    assert v.received_zat == AMOUNT and v.token is None
    run(c.ledger_mine(1))
    v = run(c.verify_zcash_permission(p.id))
    assert v.verification is zm.ZcashVerification.seen and v.confirmations == 1
    with pytest.raises(PaymentRequired):
        run(c.start_zcash_session(p.id, SVC, p.token or ""))
    run(c.ledger_mine(1))
    v = run(c.verify_zcash_permission(p.id))
    assert v.status is zm.ZcashPermissionStatus.active and v.verification is zm.ZcashVerification.confirmed
    assert run(c.verify_zcash_permission(p.id)).status is zm.ZcashPermissionStatus.active  # idempotent

    # a session billed from it: rate x used seconds // 3600
    s = run(c.start_zcash_session(p.id, SVC, p.token or ""))
    assert s.status is zm.ZcashSessionStatus.live and s.ends_at == s.started_at + MAX_SECONDS
    with pytest.raises(ProviderHTTPError) as busy:
        run(c.start_zcash_session(p.id, SVC, p.token or ""))
    assert busy.value.status == 409
    clock.advance(1000)
    live = run(c.get_zcash_permission(p.id, p.token))  # with the token: its live session too
    assert live.used_seconds == 1000 and live.live_session_id == s.session_id
    e = run(c.end_zcash_session(s.session_id, p.token or ""))
    assert e.status is zm.ZcashSessionStatus.ended and e.seconds == 1000
    assert e.amount_zat == RATE * 1000 // 3600 == 111_111
    assert e.permission.used_seconds == 1000 and e.permission.spent_zat == 111_111
    assert run(c.end_zcash_session(s.session_id, p.token or "")) == e  # idempotent

    # nine 1-second sessions: cumulative arithmetic, never per-interval rounding (9 x 111 would be 999)
    charged = 0
    for _ in range(9):
        s = run(c.start_zcash_session(p.id, SVC, p.token or ""))
        clock.advance(1)
        charged += run(c.end_zcash_session(s.session_id, p.token or "")).amount_zat
    assert charged == RATE * 1009 // 3600 - RATE * 1000 // 3600 == 1000
    got = run(c.get_zcash_permission(p.id))
    assert got.used_seconds == 1009 and got.spent_zat == RATE * 1009 // 3600
    assert got.remaining_seconds == MAX_SECONDS - 1009

    # the provider stops a session at exhaustion
    s = run(c.start_zcash_session(p.id, SVC, p.token or ""))
    assert s.ends_at == s.started_at + MAX_SECONDS - 1009
    clock.advance(100_000)
    done = run(c.get_zcash_session(s.session_id))
    assert done.status is zm.ZcashSessionStatus.exhausted
    assert done.seconds == MAX_SECONDS - 1009 and done.ended_at == s.ends_at
    assert done.amount_zat == AMOUNT - RATE * 1009 // 3600
    assert done.permission.status is zm.ZcashPermissionStatus.exhausted
    assert done.permission.remaining_zat == 0 and done.permission.remaining_hours == "0.00"
    with pytest.raises(PaymentRequired) as exc:
        run(c.start_zcash_session(p.id, SVC, p.token or ""))
    assert exc.value.code == "permission_exhausted"


def test_background_sweep_stops_session(zserver: Server, zclient: ProviderClient) -> None:
    run = zserver.env.run
    p = _paid(zserver, zclient)
    s = run(zclient.start_zcash_session(p.id, SVC, p.token or ""))
    zserver.clock.advance(MAX_SECONDS + 5)
    deadline = time.monotonic() + 5
    zc = zserver.app.state.zcash
    from paygo_desktop.provider.zcash_store import ZcashSessionRow

    while True:  # the expiry loop (every 0.1 s) settles it without any request
        with zc.store.tx() as db:
            row = db.get(ZcashSessionRow, s.session_id)
            if row.status != "live":
                break
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert row.status == "exhausted" and row.seconds == MAX_SECONDS and int(row.amount_zat) == AMOUNT


def test_expiry(zserver: Server, zclient: ProviderClient) -> None:
    run, c, clock = zserver.env.run, zclient, zserver.clock
    # an unpaid permission expires after the default 30 days; a late payment does not revive it
    late = run(c.create_zcash_permission(USER_Z, AMOUNT, RATE))
    clock.advance(30 * 86400)
    assert run(c.get_zcash_permission(late.id)).status is zm.ZcashPermissionStatus.expired
    run(c.ledger_pay(late.payment_address, AMOUNT, late.memo))
    run(c.ledger_mine(MIN_CONF))
    assert run(c.verify_zcash_permission(late.id)).status is zm.ZcashPermissionStatus.expired

    # a live session ends at expiry and is billed up to it
    p = _paid(zserver, zclient, amount=10 * RATE * 24, duration_days=1)
    clock.advance(86400 - 600)
    s = run(c.start_zcash_session(p.id, SVC, p.token or ""))
    assert s.ends_at == p.expires_at
    clock.advance(3600)
    done = run(c.get_zcash_session(s.session_id))
    assert done.status is zm.ZcashSessionStatus.expired and done.seconds == 600
    assert done.amount_zat == RATE * 600 // 3600
    assert done.permission.status is zm.ZcashPermissionStatus.expired
    with pytest.raises(SessionGone):
        run(c.start_zcash_session(p.id, SVC, p.token or ""))


def test_revoke_wallet_lookup_and_memo_key(zserver: Server, zclient: ProviderClient) -> None:
    run, c = zserver.env.run, zclient
    p = run(c.create_zcash_permission(USER_Z, AMOUNT, RATE))
    assert run(c.zcash_wallet_permission(USER_Z)).id == p.id  # pending is reported when none is active
    # the memo is a second key: a payment carrying it to an address of the wallet that is no
    # permission's counts (to another permission's address it would pay that one: test_zcash_crediting)
    other = run(c.create_zcash_permission(USER_T, AMOUNT, RATE))
    run(c.ledger_pay(encode_sapling(Network.TEST, bytes([3] * 43)), AMOUNT, p.memo))
    run(c.ledger_mine(MIN_CONF))
    assert run(c.verify_zcash_permission(p.id)).status is zm.ZcashPermissionStatus.active
    found = run(c.zcash_wallet_permission(USER_Z))
    assert found.id == p.id and found.status is zm.ZcashPermissionStatus.active and found.token is None
    with pytest.raises(NotFound):
        run(c.zcash_wallet_permission(encode_sapling(Network.TEST, bytes(43))))

    s = run(c.start_zcash_session(p.id, SVC, p.token or ""))
    with pytest.raises(Unauthorized):
        run(c.revoke_zcash_permission(p.id, "wrong"))
    with pytest.raises(Unauthorized):
        run(c.start_zcash_session(other.id, SVC, p.token or ""))
    zserver.clock.advance(60)
    r = run(c.revoke_zcash_permission(p.id, p.token or ""))
    assert r.status is zm.ZcashPermissionStatus.revoked and r.used_seconds == 60
    ended = run(c.get_zcash_session(s.session_id))
    assert ended.status is zm.ZcashSessionStatus.revoked and ended.amount_zat == RATE * 60 // 3600
    with pytest.raises(ProviderHTTPError) as again:
        run(c.revoke_zcash_permission(p.id, p.token or ""))
    assert again.value.status == 409
    with pytest.raises(SessionGone):
        run(c.start_zcash_session(p.id, SVC, p.token or ""))


def test_balance_unknown_for_shielded(zserver: Server, zclient: ProviderClient) -> None:
    run, c = zserver.env.run, zclient
    b = run(c.zcash_balance(USER_Z, RATE))
    assert b.visibility == "unknown" and b.shielded is True
    assert b.shielded_balance_zat is None and b.total_balance_zat is None and b.estimated_seconds is None
    raw = httpx.get(f"{zserver.url}/api/v1/zcash/balance/{USER_Z}", params={"rate_per_hour": "5"}).json()
    assert raw["visibility"] == "unknown" and raw["totalBalanceZat"] is None  # never "0"
    # a transparent address is public: the ledger reports what it holds
    run(c.ledger_pay(USER_T, 2 * RATE))
    run(c.ledger_mine(1))
    t = run(c.zcash_balance(USER_T, RATE))
    assert t.visibility == "known" and t.transparent_balance_zat == 2 * RATE == t.total_balance_zat
    assert t.estimated_seconds == 7200 and t.can_stream is True


BAD_CREATE: list[tuple[Any, int, str]] = [
    ({"userWalletAddress": USER_Z, "amountZat": "1.5", "ratePerHourZat": "1"}, 422, "invalid_request"),
    ({"userWalletAddress": USER_Z, "amountZat": 1.0, "ratePerHourZat": "1"}, 422, "invalid_request"),
    ({"userWalletAddress": USER_Z, "amountZat": "-5", "ratePerHourZat": "1"}, 422, "invalid_request"),
    ({"userWalletAddress": USER_Z, "amountZat": "1e6", "ratePerHourZat": "1"}, 422, "invalid_request"),
    ({"userWalletAddress": USER_Z, "amountZat": "0", "ratePerHourZat": "1"}, 422, "invalid_request"),
    ({"userWalletAddress": USER_Z, "amountZat": True, "ratePerHourZat": "1"}, 422, "invalid_request"),
    (
        {"userWalletAddress": USER_Z, "amountZat": str(22 * 10**14), "ratePerHourZat": "1"},
        422,
        "invalid_request",
    ),
    (
        {"userWalletAddress": USER_Z, "amountZat": str(101 * 10**8), "ratePerHourZat": "1"},
        422,
        "amount_too_large",
    ),
    ({"userWalletAddress": USER_Z, "amountZat": "100", "ratePerHourZat": "101"}, 422, "rate_exceeds_amount"),
    (
        {"userWalletAddress": USER_Z, "amountZat": "100", "ratePerHourZat": "1", "durationDays": 0},
        422,
        "invalid_request",
    ),
    (
        {"userWalletAddress": USER_Z, "amountZat": "100", "ratePerHourZat": "1", "extra": 1},
        422,
        "invalid_request",
    ),
    ({"userWalletAddress": "zs1nothing", "amountZat": "100", "ratePerHourZat": "1"}, 422, "invalid_address"),
    (
        {
            "userWalletAddress": "t1Hsc1LR8yKnbbe3twRp88p6vFfC5t7DLbs",
            "amountZat": "100",
            "ratePerHourZat": "1",
        },
        422,
        "wrong_network",
    ),
    ({"userWalletAddress": "x y", "amountZat": "100", "ratePerHourZat": "1"}, 422, "invalid_request"),
    ([], 422, "invalid_request"),
]


@pytest.mark.parametrize(("body", "status", "code"), BAD_CREATE)
def test_bad_create(zserver: Server, body: Any, status: int, code: str) -> None:
    r = httpx.post(f"{zserver.url}/api/v1/zcash/permissions", json=body)
    assert (r.status_code, r.json()["code"]) == (status, code), r.text


def test_bad_inputs(zserver: Server, zclient: ProviderClient) -> None:
    u = zserver.url
    with httpx.Client(base_url=u) as h:

        def check(resp: httpx.Response, status: int, code: str) -> None:
            assert resp.status_code == status, resp.text
            assert set(resp.json()) == {"code", "message"} and resp.json()["code"] == code

        check(
            h.post(
                "/api/v1/zcash/permissions", content=b"{nope", headers={"content-type": "application/json"}
            ),
            400,
            "malformed_json",
        )
        check(h.post("/api/v1/zcash/permissions", content=b"x" * 70_000), 413, "body_too_large")
        check(h.get("/api/v1/zcash/permissions/zp_missing"), 404, "unknown_permission")
        check(h.post("/api/v1/zcash/permissions/zp_missing/verify"), 404, "unknown_permission")
        check(h.get("/api/v1/zcash/permissions/bad%20id"), 422, "invalid_request")
        check(h.get("/api/v1/zcash/permissions/wallet/zs1bad"), 422, "invalid_address")
        check(
            h.get(f"/api/v1/zcash/balance/{USER_Z}", params={"rate_per_hour": "2.5"}), 422, "invalid_request"
        )
        check(h.get(f"/api/v1/zcash/balance/{USER_Z}", params={"rate_per_hour": "0"}), 422, "invalid_request")
        check(h.get("/api/v1/zcash/balance/tm0000"), 422, "invalid_address")
        check(
            h.post("/api/v1/sessions", json={"permissionId": "zp_x", "serviceId": SVC}),
            404,
            "unknown_permission",
        )
        check(h.post("/api/v1/sessions", json={"permissionId": "zp_x"}), 422, "invalid_request")
        check(h.post("/api/v1/sessions/end", json={"sessionId": "zs_nope"}), 404, "unknown_session")
        check(h.post("/api/v1/sessions/end", json={"sessionId": 5}), 422, "invalid_request")
        check(h.get("/api/v1/sessions/zs_nope"), 404, "unknown_session")
        check(
            h.post("/api/v1/zcash/ledger/pay", json={"address": "zs1x", "amountZat": "5"}),
            422,
            "ledger_refused",
        )
        check(
            h.post("/api/v1/zcash/ledger/pay", json={"address": USER_T, "amountZat": "5", "memo": "hi"}),
            422,
            "ledger_refused",
        )
        check(
            h.post("/api/v1/zcash/ledger/pay", json={"address": USER_Z, "amountZat": "5.0"}),
            422,
            "invalid_request",
        )
        check(h.post("/api/v1/zcash/ledger/mine", json={"blocks": 0}), 422, "invalid_request")
        p = zserver.env.run(zclient.create_zcash_permission(USER_Z, AMOUNT, RATE))
        check(
            h.post("/api/v1/sessions", json={"permissionId": p.id, "serviceId": SVC}),
            401,
            "bad_permission_token",
        )
        auth = {"Authorization": f"Bearer {p.token}"}
        check(
            h.post("/api/v1/sessions", json={"permissionId": p.id, "serviceId": "nope"}, headers=auth),
            404,
            "unknown_service",
        )
        check(
            h.post("/api/v1/sessions", json={"permissionId": p.id, "serviceId": SVC}, headers=auth),
            402,
            "permission_not_paid",
        )


def test_disabled_without_zcash_section(server: Server) -> None:
    r = httpx.post(f"{server.url}/api/v1/zcash/permissions", json={})
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    assert httpx.post(f"{server.url}/api/v1/zcash/ledger/pay", json={}).status_code == 404


def test_no_500_from_generated_zcash_requests(zserver: Server, zclient: ProviderClient) -> None:
    """Property-based over the Zcash routes of the OpenAPI document: any input gives a JSON 4xx or a 2xx."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from tests.provider.test_openapi_fuzz import AMOUNT as ANY_AMOUNT
    from tests.provider.test_openapi_fuzz import JSON, JSON_CT

    p = zserver.env.run(zclient.create_zcash_permission(USER_Z, AMOUNT, RATE))
    with zserver.http() as http:
        doc = http.get("/openapi.json").json()
        ops = [
            (method.upper(), path, op.get("parameters", []))
            for path, item in doc["paths"].items()
            for method, op in item.items()
            if path.startswith(("/api/v1/zcash", "/api/v1/sessions"))
        ]
        assert len(ops) == 11
        text = st.one_of(
            st.text(max_size=40),
            st.sampled_from(
                [USER_Z, USER_T, p.id, p.payment_address, "zp_x", "zs1", "t1", "%00", "..", "-1", SVC]
            ),
        )
        body = st.one_of(
            st.fixed_dictionaries(
                {},
                optional={
                    "userWalletAddress": text,
                    "amountZat": ANY_AMOUNT,
                    "ratePerHourZat": ANY_AMOUNT,
                    "durationDays": st.integers(-2, 2**40) | st.text(max_size=4),
                    "permissionId": text,
                    "serviceId": text,
                    "sessionId": text,
                    "address": text,
                    "memo": st.text(max_size=600),
                    "blocks": st.integers(-2, 2000),
                },
            ),
            JSON,
            st.binary(max_size=64),
        )

        @st.composite
        def request(draw: Any) -> tuple[str, str, dict[str, str], Any, dict[str, str]]:
            method, path, params = draw(st.sampled_from(ops))
            query: dict[str, str] = {}
            for prm in params:
                value = draw(text | st.integers(-(2**70), 2**70).map(str))
                if prm["in"] == "path":
                    path = path.replace("{" + prm["name"] + "}", quote(value, safe="") or "x")
                elif draw(st.booleans()):
                    query[prm["name"]] = value
            headers = draw(
                st.sampled_from([{}, {"Authorization": f"Bearer {p.token}"}, {"Authorization": "x"}])
            )
            return method, path, query, draw(body) if method == "POST" else None, headers

        @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(request())
        def check(req: tuple[str, str, dict[str, str], Any, dict[str, str]]) -> None:
            method, path, query, data, headers = req
            if isinstance(data, bytes):
                resp = http.request(method, path, params=query, content=data, headers={**JSON_CT, **headers})
            else:
                resp = http.request(method, path, params=query, json=data, headers=headers)
            assert resp.status_code < 500, (method, path, query, data, resp.text)
            if resp.status_code >= 400:
                err = resp.json()
                assert isinstance(err["code"], str) and isinstance(err["message"], str)

        check()


def test_ledger_payments_survive_a_provider_restart(env: Any, tmp_path: Path) -> None:
    """The local ledger lives in the provider's database: a payment made before a restart (in the
    mempool or mined) is still seen after it, keeps its confirmations, and its permission verifies."""
    zcash = {"mode": "ledger", "network": "test", "min_confirmations": MIN_CONF}
    run = env.run
    with provider_server(env, tmp_path, zcash=zcash) as first:
        c = ProviderClient(first.url, timeout=10)
        try:
            mined = run(c.create_zcash_permission(USER_Z, AMOUNT, RATE))
            run(c.ledger_pay(mined.payment_address, AMOUNT, mined.memo))
            assert run(c.ledger_mine(1)).height == 1
            pending = run(c.create_zcash_permission(USER_Z, AMOUNT, RATE))
            run(c.ledger_pay(pending.payment_address, AMOUNT, pending.memo))  # still in the mempool
            assert run(c.verify_zcash_permission(mined.id)).confirmations == 1
            transparent = run(c.ledger_pay(USER_T, 70_000))
        finally:
            run(c.aclose())

    with provider_server(env, tmp_path, zcash=zcash) as second:
        c = ProviderClient(second.url, timeout=10)
        try:
            v = run(c.verify_zcash_permission(mined.id))
            assert v.verification is zm.ZcashVerification.seen
            assert v.received_zat == AMOUNT and v.confirmations == 1
            v = run(c.verify_zcash_permission(pending.id))
            assert v.verification is zm.ZcashVerification.seen and v.confirmations == 0
            assert run(c.ledger_mine(1)).height == 2  # the height went on from where it was
            v = run(c.verify_zcash_permission(mined.id))
            assert v.status is zm.ZcashPermissionStatus.active and v.confirmations == MIN_CONF
            s = run(c.start_zcash_session(mined.id, SVC, mined.token or ""))
            assert s.status is zm.ZcashSessionStatus.live
            v = run(c.verify_zcash_permission(pending.id))
            assert v.verification is zm.ZcashVerification.seen and v.confirmations == 1
            bal = run(c.zcash_balance(USER_T))
            assert bal.transparent_balance_zat == transparent.amount_zat
        finally:
            run(c.aclose())
