"""Sessions end to end: the app's ProviderClient against the reference provider and a real anvil."""

from __future__ import annotations

import time

import pytest

from paygo_desktop.chain.vault import Closed
from paygo_desktop.chain.vouchers import verify_close
from paygo_desktop.protocol import models as m
from paygo_desktop.protocol.client import (
    Conflict,
    NotFound,
    PaymentRequired,
    ProviderClient,
    ProviderHTTPError,
    SessionGone,
    verify_quote,
    verify_receipt,
)
from tests.provider.conftest import Server, open_channel, voucher, wait_events_seen

SVC = "market-data-feed"  # 1000 base units of USDC per second, tick 5 s, grace 5 s
RATE, TICK, GRACE = 1000, 5, 5
TICK_COST = RATE * TICK


def test_full_session_receipt_and_cooperative_close(server: Server, client: ProviderClient) -> None:
    env = server.env
    info = env.run(client.provider_info())
    assert info.pay_to == env.provider.address and info.networks[0].vault == env.vault.address
    ch = open_channel(env, 1_000_000)
    started = env.run(client.start_session(SVC, ch, TICK_COST, voucher(env, ch, TICK_COST)))
    q = started.quote
    assert verify_quote(q, info) and q.start_cumulative == 0 and q.channel_id == "0x" + ch.id.hex()
    assert q.chain_id == env.chain_id and q.rate.amount == RATE
    assert env.run(client.content(started.access)).session_id == started.session_id

    total = TICK_COST
    for seq in range(1, 4):
        server.clock.advance(TICK)
        total += TICK_COST
        ack = env.run(client.send_voucher(started.session_id, seq, total, voucher(env, ch, total)))
        assert ack.seq == seq and ack.cumulative_amount == total
    server.clock.advance(2)
    stopped = env.run(client.stop_session(started.session_id, access_token=started.access.token))
    r = stopped.receipt
    assert verify_receipt(r, info)
    assert r.final_cumulative == total and r.amount == total and r.seconds == 17
    again = env.run(client.stop_session(started.session_id, access_token=started.access.token))  # idempotent
    assert again.receipt == r

    c = env.run(client.request_close(env.payer, ch))  # asked for by the payer, after the stop
    assert (
        c.final_amount == total and c.deadline == int(server.clock.now) + server.config.close_validity_seconds
    )
    assert verify_close(env.domain(), ch, c.final_amount, c.deadline, c.signature)
    before = env.usdc_balance(env.provider.address)
    signer_voucher = voucher(env, ch, c.final_amount)
    tx = env.run(
        env.vault.close_cooperative(
            env.payer, ch, c.final_amount, c.deadline, signer_voucher, bytes.fromhex(c.signature[2:])
        )
    )
    closed = tx.of_type(Closed)[0]
    assert closed.provider_amount == total and closed.refund == 1_000_000 - total
    assert env.usdc_balance(env.provider.address) - before == total
    assert env.run(client.get_session(started.session_id)).status is m.SessionStatus.ended
    with pytest.raises(SessionGone):
        env.run(client.send_voucher(started.session_id, 9, total, voucher(env, ch, total)))


def test_402_when_escrow_does_not_cover_first_tick(server: Server, client: ProviderClient) -> None:
    env = server.env
    ch = open_channel(env, TICK_COST - 1)
    with pytest.raises(PaymentRequired) as info:
        env.run(client.start_session(SVC, ch, TICK_COST, voucher(env, ch, TICK_COST)))
    assert info.value.code == "insufficient_escrow"
    assert info.value.channel is not None and info.value.channel.deposited == TICK_COST - 1
    unfunded = open_channel(env, 0)
    with pytest.raises(PaymentRequired) as info:
        env.run(client.start_session(SVC, unfunded, 0, voucher(env, unfunded, 0)))
    assert info.value.code == "channel_not_funded"


def test_402_voucher_above_escrow_and_pending_withdraw(server: Server, client: ProviderClient) -> None:
    env = server.env
    ch = open_channel(env, 3 * TICK_COST)
    s = env.run(client.start_session(SVC, ch, TICK_COST, voucher(env, ch, TICK_COST)))
    env.run(env.vault.request_withdraw(env.payer, ch, TICK_COST + 1))  # coverage drops below 2 ticks
    wait_events_seen(server)  # the provider learns of it from its event watch (one poll)
    server.clock.advance(TICK)
    with pytest.raises(PaymentRequired) as info:
        env.run(client.send_voucher(s.session_id, 1, 2 * TICK_COST, voucher(env, ch, 2 * TICK_COST)))
    assert info.value.channel is not None and info.value.channel.pending_withdraw == TICK_COST + 1


def test_409_busy_channel_and_non_monotonic(server: Server, client: ProviderClient) -> None:
    env = server.env
    ch = open_channel(env, 1_000_000)
    s = env.run(client.start_session(SVC, ch, TICK_COST, voucher(env, ch, TICK_COST)))
    with pytest.raises(Conflict) as busy:
        env.run(client.start_session(SVC, ch, TICK_COST, voucher(env, ch, TICK_COST)))
    assert busy.value.code == "channel_busy"
    server.clock.advance(TICK)
    env.run(client.send_voucher(s.session_id, 1, 2 * TICK_COST, voucher(env, ch, 2 * TICK_COST)))
    with pytest.raises(Conflict, match="seq"):
        env.run(client.send_voucher(s.session_id, 1, 2 * TICK_COST, voucher(env, ch, 2 * TICK_COST)))
    with pytest.raises(Conflict, match="amount"):
        env.run(client.send_voucher(s.session_id, 2, TICK_COST, voucher(env, ch, TICK_COST)))
    # after stop the channel is free again and the next session starts from the last voucher
    env.run(client.stop_session(s.session_id, access_token=s.access.token))
    s2 = env.run(client.start_session(SVC, ch, 3 * TICK_COST, voucher(env, ch, 3 * TICK_COST)))
    assert s2.quote.start_cumulative == 2 * TICK_COST
    recovered = env.run(client.get_channel(ch.id, env.payer))  # signed by the payer: all it holds
    assert recovered.last_voucher is not None and recovered.last_voucher.cumulative_amount == 3 * TICK_COST
    assert recovered.live_session_id == s2.session_id and recovered.claimed == 0


def test_voucher_exceeding_rate_times_elapsed_plus_tick_is_rejected(
    server: Server, client: ProviderClient
) -> None:
    env = server.env
    ch = open_channel(env, 10_000_000)
    with pytest.raises(ProviderHTTPError) as first:
        env.run(client.start_session(SVC, ch, TICK_COST + 1, voucher(env, ch, TICK_COST + 1)))
    assert first.value.status == 422 and first.value.code == "amount_exceeds_usage"
    s = env.run(client.start_session(SVC, ch, TICK_COST, voucher(env, ch, TICK_COST)))
    server.clock.advance(3)
    limit = RATE * 3 + TICK_COST
    with pytest.raises(ProviderHTTPError) as too_much:
        env.run(client.send_voucher(s.session_id, 1, limit + 1, voucher(env, ch, limit + 1)))
    assert too_much.value.status == 422
    ack = env.run(client.send_voucher(s.session_id, 2, limit, voucher(env, ch, limit)))
    assert ack.served_until == int(server.clock.now) - 3 + limit // RATE


def test_late_voucher_revokes_access(server: Server, client: ProviderClient) -> None:
    env = server.env
    ch = open_channel(env, 1_000_000)
    s = env.run(client.start_session(SVC, ch, TICK_COST, voucher(env, ch, TICK_COST)))
    server.clock.advance(TICK + GRACE - 1)
    assert env.run(client.content(s.access)).served_until == s.access.expires_at - GRACE
    server.clock.advance(2)
    deadline = time.monotonic() + 5  # the background task notices without any request
    while env.run(client.get_session(s.session_id)).status is not m.SessionStatus.expired:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    with pytest.raises(SessionGone):
        env.run(client.content(s.access))
    with pytest.raises(SessionGone):
        env.run(client.send_voucher(s.session_id, 1, 2 * TICK_COST, voucher(env, ch, 2 * TICK_COST)))
    # the channel is free again; a stop still yields a receipt, and a Close asked for is at the paid amount
    stopped = env.run(client.stop_session(s.session_id, access_token=s.access.token))
    assert env.run(client.request_close(env.payer, ch)).final_amount == TICK_COST
    # the receipt counts the seconds paid for (one tick), not the unpaid grace that followed
    assert stopped.receipt.seconds == TICK and stopped.receipt.amount == TICK_COST


def test_unknown_ids_404(server: Server, client: ProviderClient) -> None:
    env = server.env
    with pytest.raises(NotFound):
        env.run(client.get_service("nope"))
    with pytest.raises(NotFound):
        env.run(client.get_session("s_nope"))
    with pytest.raises(NotFound):
        env.run(client.get_channel(b"\x01" * 32))
    ch = open_channel(env, 1_000_000)
    with pytest.raises(NotFound):
        env.run(client.start_session("nope", ch, TICK_COST, voucher(env, ch, TICK_COST)))


def test_my_sessions_and_vendor_views(server: Server, client: ProviderClient) -> None:
    env = server.env
    a = open_channel(env, 1_000_000)
    b = open_channel(env, 1_000_000, payer=env.payer2)
    sa = env.run(client.start_session(SVC, a, TICK_COST, voucher(env, a, TICK_COST)))
    env.run(client.start_session(SVC, b, TICK_COST, voucher(env, b, TICK_COST, env.payer2)))
    mine = env.run(client.my_sessions(env.payer))
    assert [x.session_id for x in mine.items] == [sa.session_id]
    vendor = env.run(client.vendor_sessions(env.provider))
    assert len(vendor.items) == 2
    earn = env.run(client.earnings(env.provider, bucket="hour"))
    assert earn.totals == [m.AssetTotal(asset="USDC", amount=2 * TICK_COST)]  # two prepaid first ticks
    server.clock.advance(TICK)
    env.run(client.send_voucher(sa.session_id, 1, 2 * TICK_COST, voucher(env, a, 2 * TICK_COST)))
    earn = env.run(client.earnings(env.provider, bucket="day"))
    assert earn.totals[0].amount == 3 * TICK_COST and sum(b.sessions for b in earn.buckets) == 2


def test_batch_claim_lands_on_chain(server: Server, client: ProviderClient) -> None:
    env = server.env
    channels = [
        open_channel(env, 1_000_000),
        open_channel(env, 1_000_000),
        open_channel(env, 1_000_000, env.payer2),
    ]
    finals = []
    for i, ch in enumerate(channels):
        key = env.payer2 if ch.payer == env.payer2.address else env.payer
        s = env.run(client.start_session(SVC, ch, TICK_COST, voucher(env, ch, TICK_COST, key)))
        server.clock.advance(TICK)
        amount = 2 * TICK_COST - i
        env.run(client.send_voucher(s.session_id, 1, amount, voucher(env, ch, amount, key)))
        env.run(client.stop_session(s.session_id, access_token=s.access.token))
        finals.append(amount)
    before = env.usdc_balance(env.provider.address)
    result = env.run(client.claim_now(env.provider))
    assert result.tx_hash is not None and len(result.channels) == 3
    for ch, amount in zip(channels, finals, strict=True):
        assert env.run(env.vault.channel_state(ch)).claimed == amount
    assert env.usdc_balance(env.provider.address) - before == sum(finals)
    assert env.run(client.claim_now(env.provider)).tx_hash is None  # nothing left


def test_withdraw_request_triggers_immediate_claim(server: Server, client: ProviderClient) -> None:
    env = server.env
    ch = open_channel(env, 1_000_000)
    s = env.run(client.start_session(SVC, ch, TICK_COST, voucher(env, ch, TICK_COST)))
    server.clock.advance(TICK)
    env.run(client.send_voucher(s.session_id, 1, 2 * TICK_COST, voucher(env, ch, 2 * TICK_COST)))
    time.sleep(0.3)  # let the claimer pick its starting block
    env.run(env.vault.request_withdraw(env.payer, ch, 500_000))
    deadline = time.monotonic() + 10
    while env.run(env.vault.channel_state(ch)).claimed != 2 * TICK_COST:
        assert time.monotonic() < deadline, "provider did not claim after WithdrawRequested"
        time.sleep(0.1)


def test_stop_settles_at_the_payers_final_voucher_for_exactly_the_metered_cost(
    server: Server, client: ProviderClient
) -> None:
    """Vouchers pay one tick ahead; the final voucher sent with stop brings the bill down to the meter.

    The channel's cursor follows it (so would a Close), the claimer claims it (not the voucher ahead), and the
    next session starts from it."""
    env = server.env
    info = env.run(client.provider_info())
    ch = open_channel(env, 1_000_000)
    s = env.run(client.start_session(SVC, ch, TICK_COST, voucher(env, ch, TICK_COST)))
    server.clock.advance(TICK)
    env.run(client.send_voucher(s.session_id, 1, 2 * TICK_COST, voucher(env, ch, 2 * TICK_COST)))
    server.clock.advance(2.4)  # 7.4 s in; the payer's meter says 7,400 base units
    metered = 7_400
    stopped = env.run(
        client.stop_session(
            s.session_id, (2, metered, "0x" + voucher(env, ch, metered).hex()), access_token=s.access.token
        )
    )
    r = stopped.receipt
    assert verify_receipt(r, info)
    assert r.amount == r.final_cumulative == metered and r.seconds == 7
    channel = env.run(client.get_channel(ch.id))
    assert channel.last_voucher is not None and channel.last_voucher.cumulative_amount == metered

    claim = env.run(client.claim_now(env.provider))
    assert claim.tx_hash is not None
    assert env.run(env.vault.channel_state(ch)).claimed == metered  # not the 10,000 signed ahead

    with pytest.raises(Conflict, match="more than 7400"):  # what it holds (and is public now) starts nothing
        env.run(client.start_session(SVC, ch, metered, voucher(env, ch, metered)))
    s2 = env.run(client.start_session(SVC, ch, metered + TICK_COST, voucher(env, ch, metered + TICK_COST)))
    assert s2.quote.start_cumulative == metered


def test_a_paid_ahead_voucher_claimed_mid_session_is_credited_to_the_next_session(
    server: Server, client: ProviderClient
) -> None:
    """The claimer may claim the voucher one tick ahead while the session runs; the settled total is
    still what the next session counts from, so across both sessions the chain takes what was used."""
    env = server.env
    ch = open_channel(env, 1_000_000)
    s = env.run(client.start_session(SVC, ch, TICK_COST, voucher(env, ch, TICK_COST)))
    server.clock.advance(TICK)
    env.run(client.send_voucher(s.session_id, 1, 2 * TICK_COST, voucher(env, ch, 2 * TICK_COST)))
    env.run(client.claim_now(env.provider))  # claims 10,000 while only ~5 s are used
    assert env.run(env.vault.channel_state(ch)).claimed == 2 * TICK_COST
    server.clock.advance(1)  # 6 s used
    stopped = env.run(
        client.stop_session(
            s.session_id, (2, 6_000, "0x" + voucher(env, ch, 6_000).hex()), access_token=s.access.token
        )
    )
    assert stopped.receipt.amount == 6_000

    # the next session starts at 6,000: its first 4 s were already paid on chain
    s2 = env.run(client.start_session(SVC, ch, 6_000 + TICK_COST, voucher(env, ch, 6_000 + TICK_COST)))
    assert s2.quote.start_cumulative == 6_000
    server.clock.advance(TICK)
    total = 6_000 + 2 * TICK_COST
    env.run(client.send_voucher(s2.session_id, 1, total, voucher(env, ch, total)))
    server.clock.advance(2)  # 7 s used in the second session
    used = 6_000 + 7_000
    done = env.run(
        client.stop_session(
            s2.session_id, (2, used, "0x" + voucher(env, ch, used).hex()), access_token=s2.access.token
        )
    )
    assert done.receipt.amount == 7_000 and done.receipt.final_cumulative == used
    env.run(client.claim_now(env.provider))
    assert env.run(env.vault.channel_state(ch)).claimed == used  # 6 s + 7 s, to the base unit


def test_a_final_voucher_that_is_too_low_out_of_range_or_forged_is_refused_and_changes_nothing(
    server: Server, client: ProviderClient
) -> None:
    env = server.env
    ch = open_channel(env, 1_000_000)
    s = env.run(client.start_session(SVC, ch, TICK_COST, voucher(env, ch, TICK_COST)))
    server.clock.advance(TICK)
    env.run(client.send_voucher(s.session_id, 1, 2 * TICK_COST, voucher(env, ch, 2 * TICK_COST)))
    server.clock.advance(3)  # 8 s counted; up to 3 s less is accepted (the payer's meter lags)

    def refused(seq: int, amount: int, signature: str) -> ProviderHTTPError:
        with pytest.raises(ProviderHTTPError) as err:
            env.run(client.stop_session(s.session_id, (seq, amount, signature), access_token=s.access.token))
        return err.value

    sig = lambda amount: "0x" + voucher(env, ch, amount).hex()  # noqa: E731
    low = refused(2, 4_999, sig(4_999))
    assert low.status == 422 and low.code == "final_voucher_too_low"
    high = refused(2, 2 * TICK_COST + 1, sig(2 * TICK_COST + 1))
    assert high.status == 422 and high.code == "final_voucher_out_of_range"
    stale = refused(1, 8_000, sig(8_000))
    assert stale.status == 409 and stale.code == "seq_not_monotonic"
    forged = refused(2, 8_000, sig(9_000))
    assert forged.status == 400 and forged.code == "bad_signature"
    # nothing changed: the session is still live and a plain stop bills the voucher held
    assert env.run(client.get_session(s.session_id)).status is m.SessionStatus.live
    stopped = env.run(client.stop_session(s.session_id, access_token=s.access.token))
    assert stopped.receipt.amount == 2 * TICK_COST
    # a final voucher for a session that is over is not taken either: the receipt stands
    again = env.run(client.stop_session(s.session_id, (3, 8_000, sig(8_000)), access_token=s.access.token))
    assert again.receipt == stopped.receipt


def test_stopping_and_starting_again_short_each_time_is_forgiven_the_tolerance_once_per_window(
    server: Server, client: ProviderClient
) -> None:
    """The settle tolerance covers the payer's meter lagging by its round trips. Given to each session, a
    payer stopping every 2.9 s with a final voucher for nothing (under the 3 s tolerance) and starting
    again was served for free; it is one allowance for the channel's sessions that end within the window.
    An honest payer, short by a fraction of a second a session, is never refused within it."""
    env = server.env
    ch = open_channel(env, 10_000_000)
    total = 0  # the channel's cumulative total: each session starts from the last one's

    def session(used: float, short: float) -> m.Receipt:
        """A session of ``used`` seconds whose final voucher pays ``short`` seconds less; a refused final
        voucher is followed by a stop without one, as the app does."""
        nonlocal total
        s = env.run(client.start_session(SVC, ch, total + TICK_COST, voucher(env, ch, total + TICK_COST)))
        server.clock.advance(used)
        final = total + max(0, round((used - short) * RATE))
        try:
            stop = (1, final, "0x" + voucher(env, ch, final).hex())
            receipt = env.run(client.stop_session(s.session_id, stop, access_token=s.access.token)).receipt
        except ProviderHTTPError as refused:
            assert refused.code == "final_voucher_too_low"
            receipt = env.run(client.stop_session(s.session_id, access_token=s.access.token)).receipt
        total = receipt.final_cumulative
        return receipt

    served = 0.0
    paid = 0
    for _ in range(5):  # the free loop: every final voucher pays nothing
        paid += session(2.9, short=2.9).amount
        served += 2.9
    assert paid >= round((served - 3) * RATE)  # at most the tolerance was free, not 14.5 s
    assert paid <= round(served * RATE) + 4 * TICK_COST  # each refused one billed the tick signed ahead

    server.clock.advance(600)  # the window has passed: the allowance is whole again
    honest = [session(4.0, short=0.25) for _ in range(10)]  # 2.5 s short in all: within it
    assert [r.amount for r in honest] == [3_750] * 10
    refused = session(4.0, short=0.6)  # 3.1 s short in the window: the voucher held is billed
    assert refused.amount == TICK_COST
