"""Price feeds on a real anvil (MockAggregator, Chainlink's interface): read with their age, moved, gone
stale ("—", never a guess), another currency through its own feed, and the round in force at a past block."""

from __future__ import annotations

import time

import pytest
from eth_abi import encode as abi_encode

from paygo_desktop.chain.token_metadata import selector
from paygo_desktop.money import ETH, Amount
from paygo_desktop.prices.aggregator import FeedUnreadable, latest_reading, reading_at, round_in_force
from paygo_desktop.prices.board import read_prices
from paygo_desktop.prices.feeds import Feed, currency
from tests.chain.conftest import Env
from tests.money.conftest import Tokens, book, deploy_feed, feed_contract, price_answer
from tests.money.test_token_by_address import scripted


def board(
    env: Env,
    feeds: dict[str, Feed],
    code: str = "USD",
    currencies: dict[str, Feed] | None = None,
    now: int | None = None,
):  # type: ignore[no-untyped-def]
    assets = [ETH]
    return env.run(
        read_prices(env.w3, book(feeds, currencies), currency(code), assets, where="the test chain", now=now)
    )


def test_a_fresh_feed_gives_a_value_beside_the_amount_and_a_moved_one_another(env: Env) -> None:
    feed = deploy_feed(env, "ETH / USD", "3000")
    now = env.chain_time()
    first = board(env, {"native": feed}, now=now)
    assert first.text(Amount(ETH, 10**18)) == "≈ $3,000.00"
    assert first.with_amount(Amount(ETH, 5 * 10**17)) == "0.5 ETH (≈ $1,500.00)"
    assert "ETH / USD" in first.note(ETH) and feed.address in first.note(ETH)
    env.transact(feed_contract(env, feed).functions.setAnswer(price_answer("3123.45")))
    moved = board(env, {"native": feed}, now=env.chain_time())
    assert moved.text(Amount(ETH, 2 * 10**18)) == "≈ $6,246.90"


def test_a_feed_gone_stale_shows_a_dash_and_says_how_old(env: Env) -> None:
    feed = deploy_feed(env, "ETH / USD", "3000", heartbeat=3600)
    now = env.chain_time()
    env.transact(feed_contract(env, feed).functions.setRound(price_answer("2999"), now - 2 * 3600))
    stale = board(env, {"native": feed}, now=now)
    assert stale.text(Amount(ETH, 10**18)) == "—"
    assert "last round is 2 h old (its heartbeat is 60 min): no value is shown" in stale.note(ETH)
    # a round dated in the future is no price either
    env.transact(feed_contract(env, feed).functions.setRound(price_answer("1"), now + 86_400))
    assert board(env, {"native": feed}, now=now).text(Amount(ETH, 10**18)) == "—"


def test_the_same_feed_goes_stale_with_time_and_fresh_again_when_moved(env: Env) -> None:
    feed = deploy_feed(env, "ETH / USD", "3000", heartbeat=3600)
    later = env.chain_time() + feed.stale_after + 1
    assert board(env, {"native": feed}, now=later).text(Amount(ETH, 10**18)) == "—"
    env.rpc("evm_setNextBlockTimestamp", [later])
    env.transact(feed_contract(env, feed).functions.setAnswer(price_answer("3001")))
    assert board(env, {"native": feed}, now=later).text(Amount(ETH, 10**18)) == "≈ $3,001.00"


def test_no_feed_or_an_unreadable_one_is_a_dash_with_the_reason(env: Env, tokens: Tokens) -> None:
    garbage = scripted(
        env, {"decimals()": (abi_encode(["uint8"], [8]), False), "latestRoundData()": (b"\x01", False)}
    )
    result = env.run(
        read_prices(
            env.w3,
            book({"native": Feed("ETH / USD", garbage, 3600)}),
            currency("USD"),
            [ETH, tokens.dai],
            where="the test chain",
        )
    )
    assert result.text(Amount(ETH, 1)) == "—" and "could not be read" in result.note(ETH)
    assert result.text(Amount(tokens.dai, 1)) == "—" and "No price feed for DAI" in result.note(tokens.dai)


def test_negative_or_zero_answers_are_no_price(env: Env) -> None:
    feed = deploy_feed(env, "ETH / USD", "3000")
    env.transact(feed_contract(env, feed).functions.setAnswer(-5))
    with pytest.raises(FeedUnreadable, match="not a price"):
        env.run(latest_reading(env.w3, feed))


def test_euro_values_divide_by_the_euro_feed_and_need_it_fresh(env: Env) -> None:
    eth = deploy_feed(env, "ETH / USD", "3240")
    eur = deploy_feed(env, "EUR / USD", "1.08", heartbeat=86_400)
    now = env.chain_time()
    in_euros = board(env, {"native": eth}, "EUR", {"EUR": eur}, now=now)
    assert in_euros.text(Amount(ETH, 10**18)) == "≈ €3,000.00"
    assert "EUR" in in_euros.note(ETH) and eur.address in in_euros.note(ETH)
    assert board(env, {"native": eth}, "GBP", {"EUR": eur}, now=now).text(Amount(ETH, 1)) == "—"
    env.transact(feed_contract(env, eur).functions.setRound(price_answer("1.08"), now - 3 * 86_400))
    assert board(env, {"native": eth}, "EUR", {"EUR": eur}, now=now).text(Amount(ETH, 10**18)) == "—"


def test_the_round_in_force_at_a_past_block(env: Env) -> None:
    feed = deploy_feed(env, "ETH / USD", "3000")
    contract = feed_contract(env, feed)
    marks = []
    for price in ("3100", "3200", "3300", "3400", "3500"):
        env.advance(600)
        env.transact(contract.functions.setAnswer(price_answer(price)))
        block = int(env.rpc("eth_blockNumber"), 16)
        marks.append((block, env.chain_time(), price))
    block, when, price = marks[2]
    at_block = env.run(reading_at(env.w3, feed, block, when))
    assert at_block is not None and at_block.answer == price_answer(price)
    # a node that no longer holds that block's state: the feed's own rounds answer instead
    for _block, when, price in marks:
        found = env.run(round_in_force(env.w3, feed, when + 1))
        assert found is not None and found.answer == price_answer(price) and found.updated_at == when
    assert env.run(round_in_force(env.w3, feed, 1)) is None  # before its first round
    future_block = int(env.rpc("eth_blockNumber"), 16) + 1000  # a block the node cannot answer for
    fallback = env.run(reading_at(env.w3, feed, future_block, marks[1][1]))
    assert fallback is not None and fallback.answer == price_answer(marks[1][2])


def test_wall_clock_staleness_by_default(env: Env) -> None:
    feed = deploy_feed(env, "ETH / USD", "3000")
    env.transact(feed_contract(env, feed).functions.setRound(price_answer("3000"), int(time.time())))
    assert board(env, {"native": feed}).text(Amount(ETH, 10**18)) == "≈ $3,000.00"
    assert selector("decimals()").hex() == "313ce567"
