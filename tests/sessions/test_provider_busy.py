"""A provider that sheds new sessions (overload: provider.load) gets none from the app, and the app says
"busy, try again in N s": no deposit is made for a session it cannot get, and a start it refuses takes
nothing. The provider is the real one; its shedding is switched on through its load monitor (how it decides
to shed is tested in tests/provider/test_overload.py)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from paygo_desktop.paths import DataDir
from paygo_desktop.protocol import routes
from paygo_desktop.protocol.client import ProviderClient
from paygo_desktop.sessions.plan import SessionError, StartOptions
from paygo_desktop.store import Store
from tests.sessions.conftest import (
    Env,
    FakeClock,
    Provider,
    World,
    _free_port,
    anvil_network,
    make_config,
    make_wallet,
    run,
    run_server,
)

SVC = "market-data-feed"  # 1000 base units of USDC per second, tick 5 s, grace 5 s
USDC = 10**6


@contextlib.contextmanager
def world_and_app(env: Env, tmp_path: Path) -> Iterator[tuple[World, Any]]:
    """The sessions tests' world, with the provider app at hand."""
    from paygo_desktop.provider.app import create_app

    port = _free_port()
    clock = FakeClock()
    (tmp_path / "provider").mkdir()
    config = make_config(env, tmp_path / "provider", port, private_key="0x" + bytes(env.provider.key).hex())
    app = create_app(config, clock=clock)
    server, thread = run_server(app, port)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while httpx.get(url + routes.HEALTH).json()["status"] != "ok":
        assert time.monotonic() < deadline
        time.sleep(0.02)

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=10)

    data = DataDir(tmp_path / "data").ensure()
    store = Store.open(data.database_file)
    world = World(
        env=env,
        tmp_path=tmp_path,
        provider=Provider(url=url, clock=clock, key=env.provider, stop=stop, config=config),
        store=store,
        wallet=make_wallet(store, data.wallet_dir, env),
        network=anvil_network(env),
    )
    try:
        yield world, app
    finally:
        for engine in world.engines:
            env.run(engine.shutdown())
        store.close()
        stop()


def shed(app: Any, seconds: float = 30) -> None:
    app.state.monitor._shed_until = time.monotonic() + seconds  # the provider sheds new sessions


def test_no_deposit_for_a_session_a_busy_provider_cannot_give(env: Env, tmp_path: Path) -> None:
    with world_and_app(env, tmp_path) as (world, app):

        async def scenario() -> None:
            engine = world.engine()
            plan = await engine.plan(world.provider.url, SVC)
            shed(app)
            with pytest.raises(SessionError, match=r"is busy; try again in \d+ s\. Nothing was paid\."):
                await engine.start(plan, StartOptions("escrow", budget=USDC, deposit=USDC))
            assert engine.history.find() == [] and engine.live() == []

        before = env.usdc_balance(env.payer.address)
        run(world.env, scenario)
        assert env.usdc_balance(env.payer.address) == before  # no deposit went out


def test_a_start_the_busy_provider_refuses_says_when_to_try_again_and_takes_nothing(
    env: Env, tmp_path: Path
) -> None:
    with world_and_app(env, tmp_path) as (world, app):

        async def scenario() -> None:
            engine = world.engine()
            plan = await engine.plan(world.provider.url, SVC)
            live = await engine.start(plan, StartOptions("escrow", budget=USDC, deposit=USDC))
            await engine.stop(live.local_id)  # the channel is funded now; the next start needs no deposit
            async with ProviderClient(world.provider.url) as client:
                held = len((await client.my_sessions(env.payer)).items)
                shed(app)
                with pytest.raises(SessionError, match=r"busy; try again in \d+ s"):
                    await engine.start(plan, StartOptions("escrow", budget=USDC))
                assert len((await client.my_sessions(env.payer)).items) == held  # no session was started
            assert engine.live() == []

        run(world.env, scenario)
