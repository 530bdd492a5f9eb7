"""Cooperative close with the signed Close the real provider gives when a session stops."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from paygo_desktop.chain.tx_flow import TxFlow
from paygo_desktop.chain.vouchers import sign_voucher
from paygo_desktop.escrow import requests
from paygo_desktop.money import Amount
from paygo_desktop.protocol.client import ProviderClient
from tests.escrow.conftest import run_flow, usdc_of
from tests.provider.conftest import provider_server

SVC = "market-data-feed"  # 1000 base units of USDC per second, tick 5 s
TICK_COST = 5_000


def test_close_needs_the_providers_signed_close_then_settles_at_once(
    env: Any, service: Any, fresh: Any, tmp_path: Path
) -> None:
    usdc = usdc_of(env)
    channel = env.run(service.new_channel(env.provider.address, usdc))
    run_flow(
        env,
        TxFlow(
            service.transactions, fresh.address, env.run(service.plan_deposit(channel, Amount(usdc, 10**6)))
        ),
        fresh,
    )
    (row,) = env.run(service.overview()).channels
    with pytest.raises(requests.RequestError, match="signed close"):
        service.plan_close(row)

    with provider_server(env, tmp_path / "provider") as server:
        client = ProviderClient(server.url)
        try:
            started = env.run(
                client.start_session(
                    SVC, channel, TICK_COST, sign_voucher(fresh, env.domain(), channel, TICK_COST)
                )
            )
            stopped = env.run(client.stop_session(started.session_id, access_token=started.access.token))
        finally:
            env.run(client.aclose())
    service.offer_close(stopped.close)
    (row,) = env.run(service.overview()).channels
    assert service.close_auth(row) == stopped.close
    provider_before = env.usdc_balance(env.provider.address)
    payer_before = env.usdc_balance(fresh.address)
    state = run_flow(env, TxFlow(service.transactions, fresh.address, service.plan_close(row)), fresh)
    assert state.phase == "done", state.message
    assert env.usdc_balance(env.provider.address) == provider_before + TICK_COST
    assert env.usdc_balance(fresh.address) == payer_before + 10**6 - TICK_COST
    (row,) = env.run(service.overview()).channels
    assert row.available.units == 0
    assert service.close_auth(row) is None  # used: the on-chain close nonce moved on
