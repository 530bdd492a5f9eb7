"""Reference provider over real loopback HTTP (uvicorn in a thread) against the real anvil of tests/chain."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from paygo_desktop.chain.vouchers import ZERO_ADDRESS, Channel, sign_voucher
from paygo_desktop.protocol.client import ProviderClient
from paygo_desktop.provider.config import ProviderConfig
from tests.chain.conftest import (  # noqa: F401 - fixtures re-exported for this package
    Env,
    _deployed,
    _free_port,
    anvil_url,
    env,
    runner,
)


class FakeClock:
    """Server clock for session timing; tests move it forward."""

    def __init__(self) -> None:
        self.now = float(int(time.time()))

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Server:
    url: str
    clock: FakeClock
    config: ProviderConfig
    app: Any
    env: Env

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10)


def make_config(env: Env, tmp_path: Path, port: int, **kw: Any) -> ProviderConfig:  # noqa: F811
    data: dict[str, Any] = {
        "name": "Test provider",
        "private_key": "0x" + bytes(env.provider.key).hex(),
        "rpc_url": env.url,
        "chain_id": env.chain_id,
        "vault": env.vault.address,
        "assets": [
            {"symbol": "USDC", "address": env.usdc, "decimals": 6},
            {"symbol": "ETH", "address": ZERO_ADDRESS, "decimals": 18},
        ],
        "database": str(tmp_path / "provider.sqlite3"),
        "public_base_url": f"http://127.0.0.1:{port}",
        "claim_interval": 3600,
        "event_poll_interval": 0.1,
        "withdraw_delay_margin": 5,  # channels need a withdrawal delay of 6 s; the test chain's minimum is 10
        "expiry_check_interval": 0.1,
        "head_poll_interval": 0.1,
        # the tests share a busy machine and the server's thread shares the GIL with them: no shedding here
        # unless a test asks for it (tests/provider/test_overload.py)
        "overload_delay": 30,
    }
    data.update(kw)
    return ProviderConfig.model_validate(data)


def run_server(
    app: Any, port: int, config: uvicorn.Config | None = None
) -> tuple[uvicorn.Server, threading.Thread]:
    """``app`` served on ``port`` in a thread: with uvicorn's defaults, or with ``config``."""
    server = uvicorn.Server(
        config or uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("provider server did not start")
        time.sleep(0.01)
    return server, thread


@contextlib.contextmanager
def provider_server(env: Env, tmp_path: Path, **config_overrides: Any) -> Iterator[Server]:  # noqa: F811
    """The reference provider on a free loopback port, connected to anvil, with a test-controlled clock,
    served as ``provider serve`` serves it (its uvicorn settings: client limits, WebSocket bounds)."""
    from paygo_desktop.provider.app import create_app
    from paygo_desktop.provider.server import uvicorn_config

    port = _free_port()
    clock = FakeClock()
    config = make_config(env, tmp_path, port, **config_overrides)
    app = create_app(config, clock=clock)
    srv, thread = run_server(app, port, uvicorn_config(app, config, "127.0.0.1", port))
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while httpx.get(url + "/api/v1/health").json()["status"] != "ok":
        assert time.monotonic() < deadline, "provider did not connect to anvil"
        time.sleep(0.02)
    try:
        yield Server(url=url, clock=clock, config=config, app=app, env=env)
    finally:
        srv.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def server(env: Env, tmp_path: Path) -> Iterator[Server]:  # noqa: F811
    with provider_server(env, tmp_path) as s:
        yield s


@pytest.fixture
def client(server: Server) -> Iterator[ProviderClient]:
    c = ProviderClient(server.url, timeout=10)
    try:
        yield c
    finally:
        server.env.run(c.aclose())


def open_channel(env: Env, amount: int, payer: Any = None) -> Channel:  # noqa: F811
    """A fresh USDC channel (random salt) funded with ``amount``."""
    ch = env.channel(payer=payer, token=env.usdc, salt=os.urandom(32))
    if amount:
        env.run(env.vault.fund(payer or env.payer, ch, amount))
    return ch


def voucher(env: Env, ch: Channel, amount: int, key: Any = None) -> bytes:  # noqa: F811
    return sign_voucher(key or env.payer, env.domain(), ch, amount)


def auth_headers(
    server: Server, key: Any, method: str, target: str, body: bytes = b"", **kw: Any
) -> dict[str, str]:
    """Auth headers signing ``method target`` with ``body`` (send a JSON body as these exact bytes).
    ``kw`` overrides the message's fields (domain, chain_id, now, lifetime...)."""
    from paygo_desktop.protocol.auth import new_message, sign_headers

    args: dict[str, Any] = {
        "domain": server.config.auth_domain,
        "address": key.address,
        "uri": server.url,
        "chain_id": server.env.chain_id,
        "now": int(time.time()),  # request signatures are checked against the real time
        "method": method,
        "target": target,
        "body": body,
    }
    args.update(kw)
    headers = sign_headers(key, new_message(**args))
    return {**headers, "Content-Type": "application/json"} if body else headers


def wait_events_seen(server: Server, timeout: float = 10) -> None:
    """Wait until the provider's vault-event watch (the claimer) has read every block mined so far, and its
    head-block view of the channels has seen the newest of them (provider.chain_view)."""
    chain = server.env
    latest = int(chain.run(chain.vault.w3.eth.block_number))
    claimer = server.app.state.claimer
    view = server.app.state.chain
    deadline = time.monotonic() + timeout
    while claimer.next_block is None or claimer.next_block <= latest or (view.head or 0) < latest:
        assert time.monotonic() < deadline, "the provider did not poll the vault's events"
        time.sleep(0.02)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Any]:
    """A private PostgreSQL cluster for this test run (tests/postgres.py): skipped without PostgreSQL, except
    in CI."""
    from tests.postgres import start_cluster

    cluster = start_cluster()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def pg_url(pg_cluster: Any) -> str:
    """A new empty database on the test cluster."""
    return str(pg_cluster.create_database())
