"""The vendor's claimable-voucher route (``GET /vendor/vouchers``) on the real provider and anvil, and the
app's claim plan built from it (``vendor.claims``): auth, content, claims made elsewhere skipped,
and a voucher that does not check out left out."""

from __future__ import annotations

from typing import Any

import pytest

from paygo_desktop.chain.vouchers import verify_voucher
from paygo_desktop.protocol import models as m
from paygo_desktop.protocol.client import ProviderClient, Unauthorized
from paygo_desktop.vendor.claims import ClaimError, plan_claim
from tests.provider.conftest import Server, auth_headers, open_channel, voucher

SVC = "market-data-feed"  # 1000 base units of USDC per second, tick 5 s
TICK_COST = 5_000


def paid_session(server: Server, client: ProviderClient, ticks: int, payer: Any = None) -> tuple[Any, int]:
    """A stopped session paid with ``ticks`` vouchers on a fresh USDC channel: (channel, total signed)."""
    env = server.env
    key = payer or env.payer
    ch = open_channel(env, 1_000_000, payer)
    started = env.run(client.start_session(SVC, ch, TICK_COST, voucher(env, ch, TICK_COST, key)))
    for seq in range(1, ticks):
        server.clock.advance(5)
        amount = (seq + 1) * TICK_COST
        env.run(client.send_voucher(started.session_id, seq, amount, voucher(env, ch, amount, key)))
    env.run(client.stop_session(started.session_id, access_token=started.access.token))
    return ch, ticks * TICK_COST


def test_the_route_needs_the_providers_key(server: Server, client: ProviderClient) -> None:
    env = server.env
    with server.http() as http:
        bare = http.get("/api/v1/vendor/vouchers")
        assert bare.status_code == 401 and bare.json()["code"] == "unauthorized"
        other = http.get(
            "/api/v1/vendor/vouchers",
            headers=auth_headers(server, env.stranger, "GET", "/api/v1/vendor/vouchers"),
        )
        assert other.status_code == 403 and other.json()["code"] == "forbidden"
        good = http.get(
            "/api/v1/vendor/vouchers",
            headers=auth_headers(server, env.provider, "GET", "/api/v1/vendor/vouchers"),
        )
        assert good.status_code == 200 and good.json() == {"items": [], "total": 0, "refused": []}
    with pytest.raises(Unauthorized):
        env.run(client.claimable_vouchers(env.payer))


def test_claimable_vouchers_are_the_latest_above_what_is_claimed_on_chain(
    server: Server, client: ProviderClient
) -> None:
    env = server.env
    a, a_total = paid_session(server, client, 3)
    b, b_total = paid_session(server, client, 2, env.payer2)
    c, _ = paid_session(server, client, 2)
    # someone else (here a stranger: anyone may) claims c in full and a in part, straight on the vault
    env.run(env.vault.claim(env.stranger, c, 2 * TICK_COST, voucher(env, c, 2 * TICK_COST)))
    env.run(env.vault.claim(env.stranger, a, TICK_COST, voucher(env, a, TICK_COST)))

    with server.http() as http:
        raw = http.get(
            "/api/v1/vendor/vouchers",
            headers=auth_headers(server, env.provider, "GET", "/api/v1/vendor/vouchers"),
        ).json()
    first = raw["items"][0]
    assert set(first) == {"channelId", "channel", "cumulativeAmount", "signature", "claimed"}
    assert set(first["channel"]) == {"payer", "signer", "provider", "token", "withdrawDelay", "salt"}
    assert isinstance(first["cumulativeAmount"], str) and isinstance(first["claimed"], str)  # digit strings

    answer = env.run(client.claimable_vouchers(env.provider))
    assert answer.total == 2
    by_id = {item.channel_id: item for item in answer.items}
    assert set(by_id) == {"0x" + a.id.hex(), "0x" + b.id.hex()}  # c is fully claimed: left out
    for ch, total, claimed in ((a, a_total, TICK_COST), (b, b_total, 0)):
        item = by_id["0x" + ch.id.hex()]
        assert item.channel.to_channel() == ch
        assert (item.cumulative_amount, item.claimed) == (total, claimed)
        assert verify_voucher(env.domain(), ch, total, item.signature)

    # the provider learnt from the chain that c is claimed: its own claimer does not try it again
    result = env.run(client.claim_now(env.provider))
    assert set(result.channels) == set(by_id)
    assert env.run(client.claimable_vouchers(env.provider)) == m.ClaimableVouchers(items=[], total=0)


def test_the_apps_claim_plan_checks_every_voucher(server: Server, client: ProviderClient) -> None:
    env = server.env
    a, a_total = paid_session(server, client, 3)
    b, b_total = paid_session(server, client, 2)
    plan = env.run(plan_claim(client, env.provider, env.vault, env.chain_id))
    assert plan.summary() == f"2 vouchers: {(a_total + b_total) / 10**6:g} USDC"
    assert plan.request is not None and plan.request.to == env.vault.address
    assert plan.request.kind == "vendor-claim" and plan.request.description == "Claim " + plan.summary()
    assert (plan.skipped, plan.rejected, plan.later) == (0, [], 0)
    assert {(i.channel, i.cumulative, i.payout.units) for i in plan.items} == {
        (a, a_total, a_total),
        (b, b_total, b_total),
    }

    # the provider's claimer gets there first: the app's plan finds nothing left, and says so
    env.run(client.claim_now(env.provider))
    late = env.run(plan_claim(client, env.provider, env.vault, env.chain_id))
    assert late.request is None and late.items == []

    # a provider that hands out a forged voucher: it is left out (it would revert the whole batch)
    c, _ = paid_session(server, client, 2)

    class Forging:
        async def provider_info(self) -> m.ProviderInfo:
            return await client.provider_info()

        async def claimable_vouchers(self, key: Any) -> m.ClaimableVouchers:
            real = await client.claimable_vouchers(key)
            (item,) = real.items
            forged = item.model_copy(update={"cumulative_amount": item.cumulative_amount + 1})
            return real.model_copy(update={"items": [forged]})

    forged = env.run(plan_claim(Forging(), env.provider, env.vault, env.chain_id))
    assert forged.request is None and len(forged.rejected) == 1
    assert "signature is not the channel signer's" in forged.rejected[0]

    with pytest.raises(ClaimError, match="is not the key of"):
        env.run(plan_claim(client, env.stranger, env.vault, env.chain_id))
    assert env.run(env.vault.channel_state(c)).claimed == 0
