"""The Escrow page's Close, in its core: the real provider's Close, checked, the app's own voucher for the
same total, closeCooperative through the transaction flow; and every Close the app must refuse."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from paygo_desktop.chain.tx_flow import TxFlow
from paygo_desktop.chain.vouchers import Channel, sign_close, sign_voucher
from paygo_desktop.escrow.close import CloseRefused, plan_close
from paygo_desktop.escrow.service import EscrowService
from paygo_desktop.money import Amount
from paygo_desktop.protocol import models as m
from paygo_desktop.protocol.client import ProviderClient
from tests.escrow.conftest import run_flow, usdc_of
from tests.provider.conftest import provider_server

SVC = "market-data-feed"  # 1000 base units of USDC per second, tick 5 s
TICK_COST = 5_000
DEPOSIT = 10**6


def funded_channel(env: Any, service: EscrowService, fresh: Any) -> Channel:
    usdc = usdc_of(env)
    channel = env.run(service.new_channel(env.provider.address, usdc))
    plan = env.run(service.plan_deposit(channel, Amount(usdc, DEPOSIT)))
    assert run_flow(env, TxFlow(service.transactions, fresh.address, plan), fresh).phase == "done"
    return channel


def test_close_settles_at_the_providers_cursor_and_the_next_channel_takes_the_next_salt(
    env: Any, service: EscrowService, fresh: Any, tmp_path: Path
) -> None:
    usdc = usdc_of(env)
    channel = funded_channel(env, service, fresh)
    assert channel.salt == (0).to_bytes(32, "big")
    with provider_server(env, tmp_path / "provider") as server:
        client = ProviderClient(server.url)
        try:
            started = env.run(
                client.start_session(
                    SVC, channel, TICK_COST, sign_voucher(fresh, env.domain(), channel, TICK_COST)
                )
            )
            server.clock.advance(3)
            final = (1, 3_000, "0x" + sign_voucher(fresh, env.domain(), channel, 3_000).hex())
            # settled at the meter: 3,000
            env.run(client.stop_session(started.session_id, final, access_token=started.access.token))
        finally:
            env.run(client.aclose())
        (row,) = env.run(service.overview()).channels
        plan = env.run(service.plan_close(row, fresh, committed=3_000, provider_urls=[server.url]))
    assert [r.kind for r in plan] == ["escrow-close"]
    text = plan[0].description
    assert "Close the escrow channel with Test provider" in text
    assert f"{Amount(usdc, DEPOSIT - 3_000).format()} comes back to you" in text and "keeps" not in text
    provider_before = env.usdc_balance(env.provider.address)
    payer_before = env.usdc_balance(fresh.address)
    state = run_flow(env, TxFlow(service.transactions, fresh.address, plan), fresh)
    assert state.phase == "done", state.message
    assert env.usdc_balance(env.provider.address) == provider_before + 3_000  # not the 5,000 signed ahead
    assert env.usdc_balance(fresh.address) == payer_before + DEPOSIT - 3_000
    (row,) = env.run(service.overview()).channels
    assert row.closed and row.available.units == 0
    with pytest.raises(CloseRefused, match="closed already"):
        env.run(service.plan_close(row, fresh, committed=TICK_COST, provider_urls=[]))
    following = env.run(service.new_channel(env.provider.address, usdc))
    assert following.salt == (1).to_bytes(32, "big")  # the closed one is final: the next salt


def test_the_review_says_what_was_paid_ahead_and_stays_with_the_provider(
    env: Any, service: EscrowService, fresh: Any, tmp_path: Path
) -> None:
    usdc = usdc_of(env)
    channel = funded_channel(env, service, fresh)
    with provider_server(env, tmp_path / "provider") as server:
        client = ProviderClient(server.url)
        try:
            sign = lambda n: sign_voucher(fresh, env.domain(), channel, n)  # noqa: E731
            started = env.run(client.start_session(SVC, channel, TICK_COST, sign(TICK_COST)))
            server.clock.advance(5)
            env.run(client.send_voucher(started.session_id, 1, 2 * TICK_COST, sign(2 * TICK_COST)))
            env.run(client.claim_now(env.provider))  # the provider claims 10,000, one tick ahead
            server.clock.advance(1)
            env.run(
                client.stop_session(
                    started.session_id,
                    (2, 6_000, "0x" + sign(6_000).hex()),
                    access_token=started.access.token,
                )
            )
        finally:
            env.run(client.aclose())
        (row,) = env.run(service.overview()).channels
        plan = env.run(service.plan_close(row, fresh, committed=6_000, provider_urls=[server.url]))
    text = plan[0].description
    assert f"{Amount(usdc, DEPOSIT - 10_000).format()} comes back to you" in text
    assert (
        f"{Amount(usdc, 4_000).format()} was already claimed above that total" in text and "keeps it" in text
    )
    payer_before = env.usdc_balance(fresh.address)
    assert run_flow(env, TxFlow(service.transactions, fresh.address, plan), fresh).phase == "done"
    assert env.usdc_balance(fresh.address) == payer_before + DEPOSIT - 10_000


class HostileProvider:
    """Stands in for a provider that lies in its Close: the reference provider never does, so a real one
    cannot be made to. It signs with the real provider key whatever the test asks for."""

    def __init__(self, env: Any, final: int, deadline: int, key: Any = None, channel: Any = None) -> None:
        self.env, self.final, self.deadline, self.key, self.channel = env, final, deadline, key, channel

    async def request_close(self, signer: Any, channel: Channel) -> m.CloseAuth:
        target = self.channel or channel
        sig = sign_close(self.key or self.env.provider, self.env.domain(), target, self.final, self.deadline)
        return m.CloseAuth(
            channel_id="0x" + target.id.hex(),
            final_amount=self.final,
            deadline=self.deadline,
            signature="0x" + sig.hex(),
        )


def test_a_close_the_app_did_not_agree_to_is_refused_and_nothing_is_signed_or_sent(
    env: Any, service: EscrowService, fresh: Any
) -> None:
    usdc = usdc_of(env)
    channel = funded_channel(env, service, fresh)
    other = Channel(payer=fresh.address, provider=env.provider.address, token=env.usdc, salt=b"\x05" * 32)
    now = env.chain_time()
    cases = {
        "more than the channel.s settled total": HostileProvider(env, 5_001, now + 900),
        "not valid for this channel": HostileProvider(env, 100, now + 900, key=env.stranger),
        "not valid for this channel ": HostileProvider(env, 100, now + 900, channel=other),
        "expires too soon": HostileProvider(env, 100, now + 10),
    }
    for reason, provider in cases.items():
        with pytest.raises(CloseRefused, match=reason.strip()):
            env.run(plan_close(env.vault, provider, fresh, channel, usdc, committed=5_000))
    with pytest.raises(CloseRefused, match="does not sign"):  # only the channel's signer can close it
        env.run(
            plan_close(env.vault, HostileProvider(env, 0, now + 900), env.payer2, channel, usdc, committed=0)
        )
    assert service.transactions.repository.recent(10)[0].kind == "escrow-fund"  # nothing new was sent
    # at or under what was signed, it is accepted
    fine = env.run(
        plan_close(env.vault, HostileProvider(env, 5_000, now + 900), fresh, channel, usdc, committed=5_000)
    )
    assert (
        fine.final.units == 5_000 and fine.to_provider.units == 5_000 and fine.refund.units == DEPOSIT - 5_000
    )


def test_a_channel_whose_provider_the_app_cannot_reach_is_not_closed(
    env: Any, service: EscrowService, fresh: Any, tmp_path: Path
) -> None:
    funded_channel(env, service, fresh)
    (row,) = env.run(service.overview()).channels
    with pytest.raises(CloseRefused, match="Request a withdrawal instead"):
        env.run(service.plan_close(row, fresh, committed=0, provider_urls=["http://127.0.0.1:9"]))
