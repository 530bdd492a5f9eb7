"""Outsiders against a victim's sessions (issue 24, items 3 to 5), on the real provider and anvil.

The outsider knows everything public: the channel (its struct is in the funding transaction), what the
provider answers anybody, and every voucher a claim transaction published on chain. It holds no key of the
payer and never saw the access token the start answered the payer with.
"""

from __future__ import annotations

import pytest

from paygo_desktop.chain.vouchers import Channel
from paygo_desktop.protocol import models as m
from paygo_desktop.protocol.client import (
    Conflict,
    ProviderClient,
    ProviderHTTPError,
    SessionGone,
    Unauthorized,
)
from tests.provider.conftest import Env, Server, auth_headers, open_channel, voucher

SVC = "market-data-feed"  # 1000 base units of USDC per second, tick 5 s, grace 5 s
RATE, TICK, GRACE = 1000, 5, 5
TICK_COST = RATE * TICK


def sig(env: Env, ch: Channel, amount: int) -> str:
    return "0x" + voucher(env, ch, amount).hex()


def test_an_outsider_learns_nothing_to_act_on_and_cannot_stop_a_live_session(
    server: Server, client: ProviderClient
) -> None:
    env = server.env
    ch = open_channel(env, 1_000_000)
    s = env.run(client.start_session(SVC, ch, TICK_COST, voucher(env, ch, TICK_COST)))
    server.clock.advance(TICK)
    env.run(client.send_voucher(s.session_id, 1, 2 * TICK_COST, voucher(env, ch, 2 * TICK_COST)))

    public = env.run(client.get_channel(ch.id))  # what anybody is told
    assert public.live_session_id is None
    assert public.last_voucher is not None and public.last_voucher.signature is None
    assert public.last_voucher.cumulative_amount == 2 * TICK_COST
    with pytest.raises(Unauthorized) as stranger:  # a request signed by someone else shows no more
        env.run(client.get_channel(ch.id, env.stranger))
    assert stranger.value.status == 403 and stranger.value.code == "not_channel_party"
    mine = env.run(client.get_channel(ch.id, env.payer))  # the payer sees it all
    assert mine.live_session_id == s.session_id
    assert mine.last_voucher is not None and mine.last_voucher.signature == sig(env, ch, 2 * TICK_COST)

    # even knowing the session id (it leaks somehow), no stop without proof
    path = f"/api/v1/streams/{s.session_id}/stop"
    with server.http() as http:
        bare = http.patch(path)
        assert bare.status_code == 401 and bare.json()["code"] == "proof_required"
        guessed = http.patch(path, headers={"Authorization": "Bearer " + "A" * 43})
        assert guessed.status_code == 401
        unicode_token = http.patch(path, headers={"Authorization": "Bearer é".encode()})  # not ASCII
        assert unicode_token.status_code == 401
        outsider = http.patch(path, headers=auth_headers(server, env.stranger, "PATCH", path))
        assert outsider.status_code == 403 and outsider.json()["code"] == "not_channel_party"
        # a header the payer signed for another request does not stop it either
        other = auth_headers(server, env.payer, "GET", f"/api/v1/channels/0x{ch.id.hex()}")
        assert http.patch(path, headers=other).status_code == 401
    assert env.run(client.get_session(s.session_id)).status is m.SessionStatus.live
    assert env.run(client.content(s.access)).session_id == s.session_id

    # the payer stops it with a request signed by its key (recovery does so; the app's own stop sends the
    # access token)
    stopped = env.run(client.stop_session(s.session_id, key=env.payer))
    assert stopped.receipt.final_cumulative == 2 * TICK_COST
    with pytest.raises(SessionGone):
        env.run(client.content(s.access))


def test_a_claimed_voucher_is_public_and_proves_nothing_a_new_final_voucher_does(
    server: Server, client: ProviderClient
) -> None:
    env = server.env
    ch = open_channel(env, 1_000_000)
    s = env.run(client.start_session(SVC, ch, TICK_COST, voucher(env, ch, TICK_COST)))
    server.clock.advance(TICK)
    env.run(client.send_voucher(s.session_id, 1, 2 * TICK_COST, voucher(env, ch, 2 * TICK_COST)))
    env.run(client.claim_now(env.provider))  # the 2-tick voucher is in a claim transaction now
    server.clock.advance(TICK)
    env.run(client.send_voucher(s.session_id, 2, 3 * TICK_COST, voucher(env, ch, 3 * TICK_COST)))
    server.clock.advance(1)  # 11 s used

    with pytest.raises(Unauthorized) as replayed:  # the published voucher as a "final voucher"
        env.run(client.stop_session(s.session_id, (3, 2 * TICK_COST, sig(env, ch, 2 * TICK_COST))))
    assert replayed.value.status == 401 and replayed.value.code == "proof_required"
    assert env.run(client.get_session(s.session_id)).status is m.SessionStatus.live

    # only the signer can make a voucher above what was claimed: that one stops and settles the session
    stopped = env.run(client.stop_session(s.session_id, (3, 11_000, sig(env, ch, 11_000))))
    assert stopped.receipt.final_cumulative == 11_000


def test_a_replayed_voucher_starts_no_session_on_a_victims_channel(
    server: Server, client: ProviderClient
) -> None:
    env = server.env
    ch = open_channel(env, 1_000_000)
    s = env.run(client.start_session(SVC, ch, TICK_COST, voucher(env, ch, TICK_COST)))
    server.clock.advance(TICK)
    last = voucher(env, ch, 2 * TICK_COST)
    env.run(client.send_voucher(s.session_id, 1, 2 * TICK_COST, last))
    env.run(client.stop_session(s.session_id, access_token=s.access.token))
    env.run(client.claim_now(env.provider))  # its last voucher is on chain for anybody to copy

    with pytest.raises(Conflict) as replay:
        env.run(client.start_session(SVC, ch, 2 * TICK_COST, last))
    assert replay.value.code == "stale_voucher"
    # the victim's own next session starts as usual
    mine = env.run(client.start_session(SVC, ch, 3 * TICK_COST, voucher(env, ch, 3 * TICK_COST)))
    assert mine.quote.start_cumulative == 2 * TICK_COST


def test_a_first_voucher_of_nothing_buys_nothing(server: Server, client: ProviderClient) -> None:
    env = server.env
    ch = open_channel(env, 1_000_000)
    with pytest.raises(Conflict) as zero:
        env.run(client.start_session(SVC, ch, 0, voucher(env, ch, 0)))
    assert zero.value.code == "stale_voucher"

    # one base unit pays for no second: no grace either, the access ends at once
    s = env.run(client.start_session(SVC, ch, 1, voucher(env, ch, 1)))
    assert s.quote.grace_seconds == 0 and s.access.expires_at == int(server.clock.now)
    server.clock.advance(1)
    with pytest.raises(SessionGone):
        env.run(client.content(s.access))

    # a first voucher for a whole tick gets the grace, as before
    s2 = env.run(client.start_session(SVC, ch, 1 + TICK_COST, voucher(env, ch, 1 + TICK_COST)))
    assert s2.quote.grace_seconds == GRACE
    server.clock.advance(TICK + GRACE - 1)
    assert env.run(client.content(s2.access)).session_id == s2.session_id


def test_a_stop_without_proof_on_an_unknown_session_is_404(server: Server) -> None:
    with server.http() as http:
        assert http.patch("/api/v1/streams/s_nope/stop").status_code == 404


def test_the_first_voucher_after_a_claimed_voucher_ahead_is_above_the_claim(
    server: Server, client: ProviderClient
) -> None:
    """A settled stop left the cursor one whole tick below what was claimed (the voucher ahead): the next
    session's first voucher must be above the claim, and may prepay one tick beyond it."""
    env = server.env
    ch = open_channel(env, 1_000_000)
    s = env.run(client.start_session(SVC, ch, TICK_COST, voucher(env, ch, TICK_COST)))
    server.clock.advance(TICK)
    env.run(client.send_voucher(s.session_id, 1, 2 * TICK_COST, voucher(env, ch, 2 * TICK_COST)))
    env.run(client.claim_now(env.provider))  # 10,000 claimed while 5 s are used
    env.run(
        client.stop_session(
            s.session_id, (2, TICK_COST, sig(env, ch, TICK_COST)), access_token=s.access.token
        )
    )

    with pytest.raises(Conflict):  # the cursor plus one tick is what was claimed: not above it
        env.run(client.start_session(SVC, ch, 2 * TICK_COST, voucher(env, ch, 2 * TICK_COST)))
    with pytest.raises(ProviderHTTPError) as too_much:
        env.run(client.start_session(SVC, ch, 3 * TICK_COST + 1, voucher(env, ch, 3 * TICK_COST + 1)))
    assert too_much.value.code == "amount_exceeds_usage"
    s2 = env.run(client.start_session(SVC, ch, 2 * TICK_COST + 1, voucher(env, ch, 2 * TICK_COST + 1)))
    assert s2.quote.start_cumulative == TICK_COST  # the claimed tick is credited to this session
