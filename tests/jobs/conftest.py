"""The client's side of fixed-price jobs against the real anvil of tests/chain, PayGoJobs deployed beside
the vault, and the real provider over loopback (tests/provider)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from paygo_desktop.chain.tx_flow import TxFlow
from paygo_desktop.jobs.service import JobsService
from paygo_desktop.protocol import jobs as pj
from paygo_desktop.protocol.client import ProviderClient
from paygo_desktop.protocol.jobs_client import JobsProviderClient
from paygo_desktop.store import Store
from tests.chain import jobs_support
from tests.chain.conftest import Env, make_account
from tests.chain.jobs_support import Jobs
from tests.escrow.conftest import chain_network, signer, usdc_of
from tests.provider.conftest import (  # noqa: F401 - fixtures re-exported for this package
    Server,
    _deployed,
    anvil_url,
    env,
    provider_server,
    runner,
)

jobs = jobs_support.jobs
_jobs_address = jobs_support._jobs_address
DAY = 24 * 3600
PRICE = 40 * 10**6
OFFER = pj.JobOfferFields(
    name="Translate one page",
    description="English to French, proofread",
    category="translation",
    price=PRICE,
    asset="USDC",
    delivery_seconds=2 * DAY,
    review_window_seconds=DAY,
)


@dataclass
class World:
    """A client account with its app-side service, the provider (its desk reachable as the vendor), and
    PayGoJobs on anvil."""

    env: Env
    jobs: Jobs
    server: Server
    client: Any  # the client's LocalAccount
    service: JobsService
    store: Store
    tmp_path: Path
    offer_id: str = ""

    def vendor(self, coro_factory: Any) -> Any:
        """Run ``coro_factory(api)`` with the provider's jobs client (the vendor's side)."""

        async def go() -> Any:
            async with ProviderClient(self.server.url, timeout=10) as client:
                return await coro_factory(JobsProviderClient(client))

        return self.env.run(go())

    def send(self, plan: list[Any], timeout: float = 30.0) -> TxFlow:
        """Review, send and watch every step of ``plan`` through the shared flow, as the dialog does."""
        flow = TxFlow(self.service.transactions, self.client.address, plan)
        deadline = time.monotonic() + timeout
        while not flow.state.is_final:
            assert time.monotonic() < deadline, f"flow stuck in {flow.state}"
            phase = flow.state.phase
            if phase == "quoting":
                self.env.run(flow.prepare())
            elif phase == "review":
                self.env.run(flow.send(signer(self.client)))
            else:
                self.env.run(flow.poll())
                time.sleep(0.02)
        return flow

    def usdc(self, address: str) -> int:
        return self.env.usdc_balance(address)


def make_service(env: Env, store: Store, account: Any, jobs_address: str, **kw: Any) -> JobsService:  # noqa: F811
    return JobsService(
        env.w3,
        chain_network(env),
        account.address,
        store,
        jobs_address=jobs_address,
        tokens=(usdc_of(env),),
        confirmations=1,
        **kw,
    )


@pytest.fixture
def world(env: Env, jobs: Jobs, tmp_path: Path) -> Iterator[World]:  # noqa: F811
    client = make_account(f"jobs-client-{time.monotonic_ns()}")
    env.rpc("anvil_setBalance", [client.address, hex(10**21)])
    env.mint_usdc(client.address, 1_000 * 10**6)
    env.rpc("anvil_impersonateAccount", [client.address])  # for the raw replays of jobs.send
    store = Store.open(tmp_path / "app.sqlite3")
    with provider_server(env, tmp_path, jobs_contract=jobs.address) as server:
        w = World(env, jobs, server, client, make_service(env, store, client, jobs.address), store, tmp_path)
        w.offer_id = w.vendor(lambda api: api.create_offer(env.provider, OFFER)).id
        try:
            yield w
        finally:
            store.close()
