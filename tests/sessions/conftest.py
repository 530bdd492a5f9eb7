"""Sessions against the real thing: anvil (tests/chain), the reference provider over loopback (uvicorn in a
thread), a real store and wallet. The engine's monotonic clock and the provider's clock are injected and
moved forward together, so amounts can be checked to the base unit; some tests run on real clocks."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from paygo_desktop.metering.meter import NS_PER_SECOND
from paygo_desktop.networks import Network, custom_network
from paygo_desktop.paths import DataDir
from paygo_desktop.protocol import models as m
from paygo_desktop.protocol.client import ProviderClient
from paygo_desktop.sessions.engine import SessionEngine
from paygo_desktop.store import Store
from paygo_desktop.store.accounts import AccountRepository
from paygo_desktop.wallet import KdfParams, Wallet
from tests.chain.conftest import (  # noqa: F401 - fixtures re-exported for this package
    Env,
    _deployed,
    _free_port,
    anvil_url,
    env,
    runner,
)
from tests.provider.conftest import FakeClock, make_config, run_server

PASSWORD = "correct horse battery staple"


class EngineClock:
    """The engine's monotonic clock (nanoseconds); tests move it."""

    def __init__(self) -> None:
        self.now = 10**15

    def __call__(self) -> int:
        return self.now


class WallClock(FakeClock):
    """A provider clock that runs in real time (for the tests that run on real clocks)."""

    def __call__(self) -> float:
        return time.time()


@dataclass
class Provider:
    url: str
    clock: FakeClock
    key: Any
    stop: Callable[[], None]
    config: Any = None


@contextlib.contextmanager
def run_provider(
    env: Env,  # noqa: F811
    tmp_path: Path,
    *,
    key: Any = None,
    clock: FakeClock | None = None,
    **kw: Any,
) -> Iterator[Provider]:
    from paygo_desktop.provider.app import create_app

    key = key or env.provider
    port = _free_port()
    clock = clock or FakeClock()
    db_dir = tmp_path / f"provider-{port}"
    db_dir.mkdir()
    config = make_config(env, db_dir, port, private_key="0x" + bytes(key.key).hex(), **kw)
    app = create_app(config, clock=clock)
    server, thread = run_server(app, port)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while httpx.get(url + "/api/v1/health").json()["status"] != "ok":
        assert time.monotonic() < deadline, "provider did not connect to anvil"
        time.sleep(0.02)
    stopped = False

    def stop() -> None:
        nonlocal stopped
        if not stopped:
            stopped = True
            server.should_exit = True
            server.force_exit = True  # gone, as a killed process: no waiting for open connections to end
            thread.join(timeout=30)
            # gone means gone: a request must find nothing listening (a server still shutting down on a
            # loaded machine answered a voucher 503 chain_unavailable once its chain runtime had stopped)
            assert not thread.is_alive(), "the provider did not stop"

    try:
        yield Provider(url=url, clock=clock, key=key, stop=stop, config=config)
    finally:
        stop()


@dataclass
class World:
    env: Env
    tmp_path: Path
    provider: Provider
    store: Store
    wallet: Wallet
    network: Network
    clock: EngineClock = field(default_factory=EngineClock)
    engines: list[SessionEngine] = field(default_factory=list)
    providers: list[Provider] = field(default_factory=list)

    def engine(self, **kw: Any) -> SessionEngine:
        kw.setdefault("clock", self.clock)
        kw.setdefault("max_sleep", 0.02)
        kw.setdefault("claim_poll_seconds", 0)
        engine = SessionEngine(
            store=self.store,
            wallet=self.wallet,
            account=self.env.payer.address,
            network=self.network,
            vault_address=self.env.vault.address,
            w3=self.env.w3,
            **kw,
        )
        self.engines.append(engine)
        return engine

    def advance_now(self, seconds: float) -> None:
        """Move the engine's and every provider's clock forward together, without yielding."""
        self.clock.now += int(seconds * NS_PER_SECOND)
        for provider in {id(p): p for p in [self.provider, *self.providers]}.values():
            provider.clock.advance(seconds)

    async def advance(self, seconds: float, settle: float = 0.15) -> None:
        self.advance_now(seconds)
        await asyncio.sleep(settle)

    def client(self, provider: Provider | None = None) -> ProviderClient:
        return ProviderClient((provider or self.provider).url)

    async def add_service(
        self,
        *,
        amount: int,
        unit: str = "per_second",
        tick: int,
        grace: int,
        provider: Provider | None = None,
    ) -> m.Service:
        provider = provider or self.provider
        async with ProviderClient(provider.url) as client:
            fields = m.ServiceFields(
                name=f"Test service {amount}/{unit} tick {tick}",
                category="data",
                type=m.ServiceType.data,
                rate=m.Rate(amount=amount, asset="USDC", unit=m.RateUnit(unit)),
                tick_seconds=tick,
                grace_seconds=grace,
            )
            return await client.create_service(provider.key, fields)


def make_wallet(store: Store, wallet_dir: Path, env: Env) -> Wallet:  # noqa: F811
    wallet = Wallet(wallet_dir, AccountRepository(store), kdf=KdfParams(n=2**4))
    wallet.import_private_key("0x" + bytes(env.payer.key).hex(), PASSWORD, "Payer")
    wallet.unlock(PASSWORD)
    return wallet


def anvil_network(env: Env) -> Network:  # noqa: F811
    return custom_network("Test chain", env.url, env.chain_id, vault_address=env.vault.address)


@pytest.fixture
def world(env: Env, tmp_path: Path) -> Iterator[World]:  # noqa: F811
    data = DataDir(tmp_path / "data").ensure()
    store = Store.open(data.database_file)
    wallet = make_wallet(store, data.wallet_dir, env)
    with run_provider(env, tmp_path) as provider:
        w = World(
            env=env,
            tmp_path=tmp_path,
            provider=provider,
            store=store,
            wallet=wallet,
            network=anvil_network(env),
        )
        try:
            yield w
        finally:
            for engine in w.engines:  # bounded: a test that failed must not hang the suite
                env.run(asyncio.wait_for(engine.shutdown(), 60))
            store.close()


async def until(condition: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


def run(env: Env, scenario: Callable[[], Awaitable[Any]]) -> Any:  # noqa: F811
    async def main() -> Any:
        return await scenario()

    return env.run(main())
