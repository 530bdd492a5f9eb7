"""The payer's promise, as properties: PayGo never signs more than the meter plus one tick of the catalog's
terms, whatever a provider quotes or acknowledges.

The quote check and the limit are tested as pure functions over hostile quotes (a tick of 0, negative,
3,600 s against a 1 s catalog tick, a grace of 10^9, another rate). The acknowledgement sequences run
through the real ``EscrowPayer`` (its loop, its stop) against a scripted provider that acknowledges, lies,
answers late, never, or with a 402, on an injected clock; its meter is even built with the hostile quote's
tick, as a regression would, so that only the limit stands between the quote and the signature. The bound
each voucher is checked against is computed here from the catalog's terms, not by the code under test.
"""

from __future__ import annotations

import asyncio
import itertools
import tempfile
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from eth_account import Account
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from paygo_desktop.chain.vault import ChannelState
from paygo_desktop.chain.vouchers import Channel, VaultDomain
from paygo_desktop.metering.meter import NS_PER_SECOND, Meter, Price
from paygo_desktop.metering.signing_limit import (
    MAX_GRACE_SECONDS,
    MAX_TICK_SECONDS,
    SigningLimit,
    SigningRefused,
    Terms,
    TermsRefused,
    check_quote,
)
from paygo_desktop.money import Asset
from paygo_desktop.protocol import models as m
from paygo_desktop.protocol.client import PaymentRequired, ProviderUnreachable
from paygo_desktop.sessions.escrow_payer import EscrowPayer
from paygo_desktop.sessions.history import SessionHistory
from paygo_desktop.sessions.live import LiveSession
from paygo_desktop.sessions.payer import Ending
from paygo_desktop.sessions.plan import EscrowFacts, SessionPlan
from paygo_desktop.sessions.runtime import Runtime
from paygo_desktop.sessions.status import SessionStatus
from paygo_desktop.sessions.terms import Funding, SessionTerms
from paygo_desktop.store import Store

USDC = Asset("USDC", 6, "0x" + "cc" * 20)
KEY = Account.from_key("0x" + "42" * 32)
PROVIDER = "0x" + "77" * 20

units = st.sampled_from(["per_second", "per_minute", "per_hour"])
prices = st.builds(Price, st.integers(1, 10**9), units)
catalog_ticks = st.integers(1, MAX_TICK_SECONDS)
catalog_graces = st.integers(0, MAX_GRACE_SECONDS)
hostile_ints = st.one_of(
    st.sampled_from([0, -1, -3600, 3600, 10**9, 2**63, 2**256]),
    st.integers(-(2**64), 2**64),
    st.booleans(),
)


def catalog_terms() -> st.SearchStrategy[Terms]:
    return st.builds(Terms, prices, catalog_ticks, catalog_graces)


# ---------------------------------------------------------------------------------- quotes and terms


@given(terms=catalog_terms(), tick=hostile_ints, grace=hostile_ints, price=st.one_of(prices, st.none()))
def test_a_quote_is_accepted_only_when_it_repeats_the_catalog(
    terms: Terms, tick: Any, grace: Any, price: Price | None
) -> None:
    rate = terms.price if price is None else price
    same = (
        rate == terms.price
        and type(tick) is int
        and type(grace) is int
        and (tick, grace) == (terms.tick_seconds, terms.grace_seconds)
    )
    if same:
        check_quote(terms, rate, tick, grace)
    else:
        with pytest.raises(TermsRefused):
            check_quote(terms, rate, tick, grace)


@given(price=prices, tick=hostile_ints, grace=hostile_ints)
def test_catalog_terms_outside_the_bounds_are_refused(price: Price, tick: Any, grace: Any) -> None:
    valid = (
        type(tick) is int
        and type(grace) is int
        and 1 <= tick <= MAX_TICK_SECONDS
        and 0 <= grace <= MAX_GRACE_SECONDS
    )
    if valid:
        assert Terms(price, tick, grace).tick_cost == price.cost_seconds(tick)
    else:
        with pytest.raises(TermsRefused):
            Terms(price, tick, grace)


@given(
    terms=catalog_terms(),
    cap=st.integers(1, 10**15),
    elapsed=st.integers(-(10**12), 10**15),
    acked=st.integers(0, 10**15),
    amount=st.integers(-10, 10**16),
)
def test_the_limit_is_the_meter_plus_one_catalog_tick(
    terms: Terms, cap: int, elapsed: int, acked: int, amount: int
) -> None:
    limit = SigningLimit(terms, cap)
    bound = min(cap, terms.price.cost_ns(max(0, elapsed)) + terms.price.cost_seconds(terms.tick_seconds))
    assert limit.ceiling(elapsed) == bound
    final_bound = min(bound, acked + terms.price.cost_seconds(terms.tick_seconds))
    assert limit.final_ceiling(elapsed, acked) == final_bound
    for given_acked, most in ((None, bound), (acked, final_bound)):
        if 0 <= amount <= most:
            assert limit.permit(amount, elapsed, acked=given_acked) == amount
        else:
            with pytest.raises(SigningRefused):
                limit.permit(amount, elapsed, acked=given_acked)
    paid = terms.price.seconds_for(acked)
    assert limit.ack_deadline_ns(acked) == (paid + terms.grace_seconds) * NS_PER_SECOND


@given(
    terms=catalog_terms(),
    cap=st.integers(1, 10**15),
    prepaid=st.integers(0, 10**12),
    elapsed=st.integers(0, 10**15),
)
def test_what_the_chain_already_paid_is_owed_first_and_the_tick_counts_from_it(
    terms: Terms, cap: int, prepaid: int, elapsed: int
) -> None:
    """A voucher ahead claimed before the last session settled lower: this session's first seconds are
    paid on chain already (the provider only starts a session on a voucher above the claim). Signing up to
    that costs nothing new, so the one tick ahead counts from it; once the meter passes it, from the meter."""
    limit = SigningLimit(terms, cap, prepaid=prepaid)
    tick = terms.price.cost_seconds(terms.tick_seconds)
    assert limit.ceiling(elapsed) == min(cap, max(prepaid, terms.price.cost_ns(elapsed)) + tick)
    assert limit.ceiling(elapsed) <= SigningLimit(terms, cap).ceiling(elapsed) + prepaid


def test_the_issues_quote_signs_one_catalog_tick_not_an_hour() -> None:
    """Issue 18, item 1: a 1 s catalog tick, a quoted 3,600 s tick, 1,000 units a second: 50,000 units
    were signed at once. The limit allows 1,000 at the start, whatever the quote."""
    terms = Terms(Price(1000, "per_second"), 1, 5)
    with pytest.raises(TermsRefused, match="tick of 3600 s"):
        check_quote(terms, terms.price, 3600, 5)
    with pytest.raises(TermsRefused, match="grace of 1000000000 s"):
        check_quote(terms, terms.price, 1, 10**9)
    with pytest.raises(TermsRefused):
        check_quote(terms, terms.price, 0, 5)
    limit = SigningLimit(terms, cap=50_000)
    assert limit.ceiling(0) == 1000
    with pytest.raises(SigningRefused):
        limit.permit(50_000, 0)


# ---------------------------------------------------------------------------------- acknowledgements


class Clock:
    def __init__(self) -> None:
        self.now = 10**15

    def __call__(self) -> int:
        return self.now


class ScriptedProvider:
    """The provider side of one session: each voucher (seq 1, 2, …) gets the next scripted answer."""

    def __init__(self, answers: list[str], clock: Clock) -> None:
        self.answers = answers
        self.clock = clock
        self.finals: list[int] = []

    async def send_voucher(self, session_id: str, seq: int, cumulative: int, signature: str) -> m.VoucherAck:
        answer = self.answers[seq - 1] if seq - 1 < len(self.answers) else self.answers[-1]
        if answer == "never":
            await asyncio.Event().wait()
        if answer == "unreachable":
            raise ProviderUnreachable("the provider is unreachable")
        if answer == "402":
            raise PaymentRequired(402, "insufficient_escrow", "the escrow does not cover this voucher")
        if answer.startswith("late"):  # answered after some seconds of the session's clock
            until = self.clock.now + int(answer[4:]) * NS_PER_SECOND
            while self.clock.now < until:
                await asyncio.sleep(0)
        said = {"lie_low": cumulative - 1, "lie_high": cumulative + 10**9}.get(answer, cumulative)
        return m.VoucherAck(seq=seq, cumulative_amount=max(0, said), served_until=0, expires_at=0)

    async def stop_session(
        self, session_id: str, final: tuple[int, int, str] | None = None, **proof: Any
    ) -> Any:
        if final is not None:
            self.finals.append(final[1])
        raise ProviderUnreachable("no receipt from this provider")


class RichVault:
    """A channel that covers everything: a 402 from the provider is a lie."""

    async def channel_state(self, channel: Channel) -> ChannelState:
        return ChannelState(10**30, 0, 0, 0, 0, 0)


class RecordingSession(EscrowPayer):
    """The real session; every voucher it manages to sign is recorded with the meter time after it."""

    signed_log: list[tuple[int, int, int | None]]

    async def sign(self, amount: int, *, acked: int | None = None) -> str:
        signature = await super().sign(amount, acked=acked)
        self.signed_log.append((amount, self.session.meter.elapsed_ns(), acked))
        return signature


async def _inline(func: Any, /, *args: Any, **kwargs: Any) -> Any:
    return func(*args, **kwargs)


@pytest.fixture(scope="module")
def history() -> Iterator[SessionHistory]:
    with tempfile.TemporaryDirectory() as folder:
        store = Store.open(Path(folder) / "paygo.sqlite3")
        try:
            yield SessionHistory(store)
        finally:
            store.close()


answers = st.sampled_from(
    ["ack", "ack", "ack", "never", "late1", "late3", "lie_low", "lie_high", "402", "unreachable"]
)


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    terms=st.builds(
        Terms,
        prices,
        st.one_of(st.integers(1, 5), catalog_ticks),
        st.one_of(st.integers(0, 10), catalog_graces),
    ),
    quoted_tick=st.sampled_from([1, 2, 5, 60, 3600, 10**9]),
    quoted_grace=st.sampled_from([0, 5, 3600, 10**9]),
    cap_ticks=st.integers(1, 200),
    script=st.lists(answers, min_size=1, max_size=12),
    steps=st.lists(st.integers(0, 3 * NS_PER_SECOND), min_size=1, max_size=25),
)
@example(  # issue 18, item 2: acknowledgements stop, the user stops before the deadline
    terms=Terms(Price(1000, "per_second"), 1, 5),
    quoted_tick=1,
    quoted_grace=10**9,
    cap_ticks=200,
    script=["never"],
    steps=[NS_PER_SECOND] * 4,
)
@example(  # issue 18, item 2: a huge quoted grace must not switch the deadline off
    terms=Terms(Price(1000, "per_second"), 1, 5),
    quoted_tick=1,
    quoted_grace=10**9,
    cap_ticks=200,
    script=["ack", "never"],
    steps=[NS_PER_SECOND] * 12,
)
def test_hostile_acknowledgements_never_get_more_than_the_meter_plus_one_tick(
    history: SessionHistory,
    terms: Terms,
    quoted_tick: int,
    quoted_grace: int,
    cap_ticks: int,
    script: list[str],
    steps: list[int],
) -> None:
    tick_cost = terms.price.cost_seconds(terms.tick_seconds)  # the oracle: the catalog's terms, here
    cap = max(1, cap_ticks * tick_cost // 3)
    clock = Clock()
    provider = ScriptedProvider(script, clock)
    with mock.patch.object(asyncio, "to_thread", _inline):
        session, ended_ns, driven_ns, summary = asyncio.run(
            _run_session(history, terms, quoted_tick, quoted_grace, cap, clock, provider, steps)
        )

    def oracle(elapsed_ns: int) -> int:
        return min(cap, terms.price.cost_ns(elapsed_ns) + tick_cost)

    assert session.signed_log, "the first voucher was signed"
    for amount, elapsed, acked in session.signed_log:
        assert 0 <= amount <= oracle(elapsed)
        if acked is not None:  # the stop's voucher: at most one tick past what was acknowledged
            assert amount <= acked + tick_cost
    for cumulative in provider.finals:
        assert cumulative <= session.live.acked + tick_cost
    assert summary.cost <= session.live.signed <= oracle(session.live.meter.elapsed_ns())
    # acknowledgements that stop are noticed by the catalog's grace, not the quote's: the session ends at
    # the first step past the deadline
    deadline = (terms.price.seconds_for(session.live.acked) + terms.grace_seconds) * NS_PER_SECOND
    assert (ended_ns if ended_ns is not None else driven_ns) <= deadline + max(steps)


async def _run_session(
    history: SessionHistory,
    terms: Terms,
    quoted_tick: int,
    quoted_grace: int,
    cap: int,
    clock: Clock,
    provider: ScriptedProvider,
    steps: list[int],
) -> tuple[RecordingSession, int | None, int, Any]:
    rt = Runtime(
        history=history,
        account=KEY.address,
        network_key="test",
        chain_id=31337,
        clock=clock,
        now=lambda: datetime.now(UTC),
        client_factory=lambda url: provider,  # type: ignore[arg-type,return-value]
        max_sleep=0.0,
        request_timeout=0.01,
    )
    local_id = uuid.uuid4().hex
    catalog = terms
    # as if the engine had adopted the hostile quote's tick and grace: only the limit stands in the way
    hostile = SessionTerms(
        account=KEY.address, network="test", provider_url="http://p.test", provider_name="P",
        provider_address=PROVIDER, service_id="svc", service_name="Feed", category="data",
        service_type="data", asset=USDC, price=catalog.price, tick_seconds=min(quoted_tick, 10**6),
        grace_seconds=quoted_grace, cap=cap, funding=Funding.ESCROW, chain_id=31337,
    )  # fmt: skip
    history.create(local_id, hostile, rt.now())
    history.update(local_id, status=SessionStatus.RUNNING, remote_id="s_1")
    plan = SessionPlan.__new__(SessionPlan)
    object.__setattr__(plan, "provider", m.ProviderInfo.model_construct(signing_key=PROVIDER))
    channel = Channel(KEY.address, PROVIDER, USDC.address or "", KEY.address, 10, b"\x00" * 32)
    session = RecordingSession(
        rt,
        plan,
        hostile,
        client=provider,  # type: ignore[arg-type]
        vault=RichVault(),  # type: ignore[arg-type]
        escrow=EscrowFacts(channel, VaultDomain(31337, "0x" + "be" * 20)),
        signer=KEY,
        limit=SigningLimit(catalog, cap),
        cap_reason="cap",
        first=min(cap, catalog.tick_cost),
    )
    live = session.live = LiveSession(
        local_id,
        hostile,
        meter=Meter(catalog.price, cap, quoted_tick, clock=clock),
        status=SessionStatus.RUNNING,
        remote_id="s_1",
    )
    session.signed_log = []
    first = session.first  # the start voucher, acknowledged by the start's answer
    await session.sign(first)
    live.signed = live.acked = first
    task = asyncio.ensure_future(session.run())
    ended_ns: int | None = None
    for step in steps:
        clock.now += step
        for _ in itertools.repeat(None, 40):
            await asyncio.sleep(0)
            if task.done():
                break
        if task.done():
            ended_ns = live.meter.elapsed_ns()
            break
    driven_ns = live.meter.elapsed_ns()
    if task.done():
        ending = task.result()
    else:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        ending = Ending("Stopped by you.")
    summary = await asyncio.wait_for(session.finish(ending), 10)
    return session, ended_ns, driven_ns, summary
