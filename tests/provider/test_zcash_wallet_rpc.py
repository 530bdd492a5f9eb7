"""The Zallet JSON-RPC client (``ZalletVerifier``) against a tiny loopback JSON-RPC server.

The server is a fake: no Zallet node can run in this test environment, so it answers with responses of
the shapes Zallet/zcashd document for ``z_getaddressforaccount``, ``z_listreceivedbyaddress``,
``z_listunspent`` and ``z_viewtransaction`` (amounts in ZEC as JSON numbers plus ``amountZat``; memos as
hex and ``memoStr``). It checks HTTP basic auth and the JSON-RPC envelope like the real server would.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from paygo_desktop.protocol import zcash_models as zm
from paygo_desktop.protocol.client import ProviderClient
from paygo_desktop.provider.zcash_wallet_rpc import WalletError, ZalletVerifier
from paygo_desktop.zcash.addresses import Network, Typecode, encode_sapling, encode_unified
from tests.provider.conftest import FakeClock, Server, _free_port, make_config, run_server

USER, PASSWORD = "paygo", "s3cret"
ADDR = encode_unified({Typecode.ORCHARD: bytes([7] * 43), Typecode.SAPLING: bytes([9] * 43)}, Network.TEST)
OTHER = encode_sapling(Network.TEST, bytes([5] * 43))


@dataclass
class FakeZallet:
    url: str
    handlers: dict[str, Callable[[list[Any]], Any]] = field(default_factory=dict)
    calls: list[tuple[str, list[Any]]] = field(default_factory=list)


@pytest.fixture
def zallet() -> Iterator[FakeZallet]:
    port = _free_port()
    fake = FakeZallet(url=f"http://127.0.0.1:{port}/")
    expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            if self.headers.get("authorization") != expected:
                self.send_response(401)
                self.end_headers()
                return
            req = json.loads(body)
            assert req["jsonrpc"] == "2.0" and isinstance(req["params"], list)
            fake.calls.append((req["method"], req["params"]))
            handler = fake.handlers.get(req["method"])
            if handler is None:
                out = {
                    "jsonrpc": "2.0",
                    "id": req["id"],
                    "error": {"code": -32601, "message": "Method not found"},
                }
            else:
                out = {"jsonrpc": "2.0", "id": req["id"], "result": handler(req["params"])}
            raw = json.dumps(out).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

    httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        httpd.shutdown()
        httpd.server_close()


def _note(txid: str, address: str, zat: int, conf: int, memo: str | None, **extra: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "txid": txid,
        "pool": "orchard",
        "outindex": 0,
        "confirmations": conf,
        "spendable": True,
        "address": address,
        "amount": zat / 1e8,
        "amountZat": zat,
        "change": False,
    }
    if memo is not None:
        entry["memo"] = memo.encode().hex() + "00" * (512 - len(memo))
        entry["memoStr"] = memo
    entry.update(extra)
    return entry


async def test_zallet_verifier_calls(zallet: FakeZallet) -> None:
    zallet.handlers["z_getaddressforaccount"] = lambda p: {
        "account": p[0],
        "diversifier_index": 3,
        "receiver_types": p[1],
        "address": ADDR,
    }
    zallet.handlers["z_listreceivedbyaddress"] = lambda p: [
        _note("aa" * 32, ADDR, 60_000, 3, "paygo:perm:zp_1"),
        # no memo fields in the listing: the client asks z_viewtransaction
        {k: v for k, v in _note("bb" * 32, ADDR, 40_000, 0, None).items() if k != "amountZat"},
        _note("cc" * 32, ADDR, 1, 9, None, change=True),  # change is never a payment
    ]
    zallet.handlers["z_listunspent"] = lambda p: [
        _note("dd" * 32, OTHER, 25_000, 1, "paygo:perm:zp_1"),  # the memo is a second key
        _note("ee" * 32, OTHER, 99_000, 1, "paygo:perm:zp_2"),
        _note("aa" * 32, ADDR, 60_000, 3, "paygo:perm:zp_1"),
    ]
    zallet.handlers["z_viewtransaction"] = lambda p: {
        "txid": p[0],
        "spends": [],
        "outputs": [
            {
                "pool": "orchard",
                "output": 0,
                "address": ADDR,
                "outgoing": False,
                "walletInternal": False,
                "value": 0.0004,
                "valueZat": 40_000,
                "memo": "f6" + "00" * 511,
            },
        ],
    }
    v = ZalletVerifier(zallet.url, user=USER, password=PASSWORD, account="0")
    try:
        assert await v.new_address("zp_1") == ADDR
        notes = sorted(await v.received(ADDR, "paygo:perm:zp_1"), key=lambda n: n.txid)
        assert [(n.txid[:2], n.amount_zat, n.confirmations, n.memo) for n in notes] == [
            ("aa", 60_000, 3, "paygo:perm:zp_1"),
            ("bb", 40_000, 0, None),  # amount from the ZEC number, parsed exactly
            ("dd", 25_000, 1, "paygo:perm:zp_1"),
        ]
        assert await v.transparent_balance("tmAnything") is None
    finally:
        await v.aclose()
    methods = [c[0] for c in zallet.calls]
    assert methods[0] == "z_getaddressforaccount" and zallet.calls[0][1] == [0, ["sapling", "orchard"]]
    assert ("z_listreceivedbyaddress", [ADDR, 0]) in zallet.calls
    assert ("z_listunspent", [0, 9999999, False]) in zallet.calls
    assert ("z_viewtransaction", ["bb" * 32]) in zallet.calls


async def test_zallet_errors(zallet: FakeZallet) -> None:
    bad = ZalletVerifier(zallet.url, user=USER, password="wrong")
    with pytest.raises(WalletError, match="credentials"):
        await bad.new_address("zp_1")
    await bad.aclose()
    v = ZalletVerifier(zallet.url, user=USER, password=PASSWORD, account="c5a2f3e0-uuid")
    with pytest.raises(WalletError, match="z_getaddressforaccount failed: Method not found"):
        await v.new_address("zp_1")
    zallet.handlers["z_getaddressforaccount"] = lambda p: {"nope": 1}
    with pytest.raises(WalletError, match="no address"):
        await v.new_address("zp_1")
    zallet.handlers["z_listreceivedbyaddress"] = lambda p: [
        {"txid": "ab" * 32, "amountZat": -5, "memoStr": ""}
    ]
    with pytest.raises(WalletError, match="negative"):
        await v.received(ADDR, "paygo:perm:zp_1")
    await v.aclose()
    gone = ZalletVerifier(f"http://127.0.0.1:{_free_port()}/", timeout=2)
    with pytest.raises(WalletError, match="unreachable"):
        await gone.new_address("zp_1")
    await gone.aclose()


def test_provider_with_zallet(zallet: FakeZallet, env: Any, tmp_path: Path) -> None:
    """The provider's routes driven by the Zallet client (the fake wallet above): verify → active."""
    from paygo_desktop.provider.app import create_app

    conf = {"n": 0}
    zallet.handlers["z_getaddressforaccount"] = lambda p: {"address": ADDR, "account": p[0]}
    zallet.handlers["z_listreceivedbyaddress"] = lambda p: (
        [_note("aa" * 32, ADDR, 500_000, conf["n"], "paygo:perm:x")] if conf["n"] >= 0 else []
    )
    zallet.handlers["z_listunspent"] = lambda p: []
    port = _free_port()
    config = make_config(
        env,
        tmp_path,
        port,
        zcash={
            "mode": "zallet",
            "rpc_url": zallet.url,
            "rpc_user": USER,
            "rpc_password": PASSWORD,
            "min_confirmations": 3,
        },
    )
    clock = FakeClock()
    app = create_app(config, clock=clock)
    srv, thread = run_server(app, port)
    s = Server(url=f"http://127.0.0.1:{port}", clock=clock, config=config, app=app, env=env)
    c = ProviderClient(s.url)
    try:
        user = encode_sapling(Network.TEST, bytes([1] * 43))
        p = env.run(c.create_zcash_permission(user, 500_000, 100_000))
        assert p.payment_address == ADDR and "memo=" in p.payment_uri
        conf["n"] = 1
        assert env.run(c.verify_zcash_permission(p.id)).verification is zm.ZcashVerification.seen
        conf["n"] = 3
        v = env.run(c.verify_zcash_permission(p.id))
        assert v.status is zm.ZcashPermissionStatus.active and v.received_zat == 500_000
        # the same address again from the wallet would pay two permissions: refused, not a 500
        r = httpx.post(
            s.url + "/api/v1/zcash/permissions",
            json={"userWalletAddress": user, "amountZat": "5", "ratePerHourZat": "5"},
        )
        assert r.status_code == 503 and r.json()["code"] == "zcash_wallet_unavailable"
        # the wallet goes away: 503, never 500
        zallet.handlers.clear()
        r = httpx.post(
            s.url + "/api/v1/zcash/permissions",
            json={"userWalletAddress": user, "amountZat": "5", "ratePerHourZat": "5"},
        )
        assert r.status_code == 503 and r.json()["code"] == "zcash_wallet_unavailable"
        # no ledger in zallet mode
        assert httpx.post(s.url + "/api/v1/zcash/ledger/pay", json={}).status_code == 404
    finally:
        env.run(c.aclose())
        srv.should_exit = True
        thread.join(timeout=10)
