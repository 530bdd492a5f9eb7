"""Reading a price feed (Chainlink's AggregatorV3Interface): its latest round, or the round in force at a
past block.

Each read is a raw ``eth_call`` (``chain.raw_call``) decoded here: ``latestRoundData`` is five words
(round id, a signed answer, startedAt, updatedAt, answeredInRound) and ``decimals`` one. An answer that is
not above zero, decimals above 36 or a round with no time is no price (``FeedUnreadable``). A round is
never judged fresh here: that is ``prices.fiat`` (against the feed's heartbeat).

The round at a past block (``reading_at``) is asked of the node at that block first; a node that no longer
holds the state of that block (a pruned node, or anvil after a restart) is answered from the feed's own
history instead: ``getRoundData`` walks (by halving) the rounds of the current phase to the last one
updated at or before the block's time. A time before the phase's first round has no answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_utils import keccak

from paygo_desktop.chain.raw_call import CallFailed, raw_call
from paygo_desktop.prices.feeds import Feed

_LATEST = keccak(text="latestRoundData()")[:4]
_ROUND = keccak(text="getRoundData(uint80)")[:4]
_DECIMALS = keccak(text="decimals()")[:4]
MAX_FEED_DECIMALS = 36
PHASE_SHIFT = 64


class FeedUnreadable(Exception):
    """The feed gave no usable answer (why, in words)."""


@dataclass(frozen=True)
class Reading:
    """A feed's round: ``answer`` / 10**``decimals`` US dollars (or the pair's quote) per unit."""

    feed: Feed
    round_id: int
    answer: int
    decimals: int
    updated_at: int  # Unix seconds


def _round(raw: bytes) -> tuple[int, int, int]:
    """(round id, answer, updatedAt) of a getRoundData / latestRoundData answer."""
    if len(raw) < 160:
        raise FeedUnreadable(f"its round data is {len(raw)} bytes, not five words")
    words = [raw[i : i + 32] for i in range(0, 160, 32)]
    round_id = int.from_bytes(words[0], "big")
    answer = int.from_bytes(words[1], "big", signed=True)
    updated_at = int.from_bytes(words[3], "big")
    return round_id, answer, updated_at


def _checked(feed: Feed, round_id: int, answer: int, decimals: int, updated_at: int) -> Reading:
    if answer <= 0:
        raise FeedUnreadable(f"{feed.pair} answered {answer}, not a price")
    if updated_at <= 0 or updated_at >= 2**40:
        raise FeedUnreadable(f"{feed.pair} gave no time for its round")
    return Reading(feed, round_id, answer, decimals, updated_at)


async def feed_decimals(w3: Any, feed: Feed, block: int | str = "latest") -> int:
    try:
        raw = await raw_call(w3, feed.address, _DECIMALS, block=block)
    except CallFailed as exc:
        raise FeedUnreadable(f"{feed.pair}: decimals() failed ({exc})") from None
    if len(raw) < 32 or int.from_bytes(raw[:32], "big") > MAX_FEED_DECIMALS:
        raise FeedUnreadable(f"{feed.pair}: decimals() is not a number up to {MAX_FEED_DECIMALS}")
    return int.from_bytes(raw[:32], "big")


async def latest_reading(w3: Any, feed: Feed, block: int | str = "latest") -> Reading:
    """The feed's latest round (at ``block``)."""
    decimals = await feed_decimals(w3, feed, block)
    try:
        raw = await raw_call(w3, feed.address, _LATEST, block=block)
    except CallFailed as exc:
        raise FeedUnreadable(f"{feed.pair}: latestRoundData() failed ({exc})") from None
    round_id, answer, updated_at = _round(raw)
    return _checked(feed, round_id, answer, decimals, updated_at)


async def _round_at(w3: Any, feed: Feed, round_id: int) -> tuple[int, int] | None:
    """(answer, updatedAt) of ``round_id``, None where the feed has no such round."""
    try:
        raw = await raw_call(w3, feed.address, _ROUND + round_id.to_bytes(32, "big"))
    except CallFailed as exc:
        if exc.reverted:
            return None
        raise FeedUnreadable(f"{feed.pair}: getRoundData() failed ({exc})") from None
    _, answer, updated_at = _round(raw)
    return None if updated_at == 0 else (answer, updated_at)


async def reading_at(w3: Any, feed: Feed, block: int, block_time: int) -> Reading | None:
    """The round in force at ``block`` (whose timestamp is ``block_time``); None if the feed had none."""
    try:
        reading = await latest_reading(w3, feed, block)
    except FeedUnreadable:
        reading = None  # the node may not hold that block's state any more: ask the feed's history
    if reading is not None and reading.updated_at <= block_time:
        return reading  # (a node without that block's state may answer with today's: then not used)
    return await round_in_force(w3, feed, block_time)


async def round_in_force(
    w3: Any,
    feed: Feed,
    when: int,
    *,
    latest: Reading | None = None,
    rounds: dict[int, tuple[int, int] | None] | None = None,
) -> Reading | None:
    """From the feed's own history: the last round of its current phase updated at or before ``when``.

    ``latest`` (the feed's latest round, read once) and ``rounds`` (round id → its answer and time, filled
    as read) let many look-ups on the same feed share their reads."""
    if latest is None:
        latest = await latest_reading(w3, feed)
    if latest.updated_at <= when:
        return latest
    phase = latest.round_id >> PHASE_SHIFT
    low, high = 1, latest.round_id & ((1 << PHASE_SHIFT) - 1)
    found: tuple[int, int, int] | None = None
    while low <= high:  # the last round of this phase updated at or before when
        middle = (low + high) // 2
        round_id = (phase << PHASE_SHIFT) | middle
        if rounds is not None and round_id in rounds:
            data = rounds[round_id]
        else:
            data = await _round_at(w3, feed, round_id)
            if rounds is not None:
                rounds[round_id] = data
        if data is not None and data[1] <= when:
            found = (round_id, *data)
            low = middle + 1
        else:
            high = middle - 1
    if found is None:
        return None
    round_id, answer, updated_at = found
    return _checked(feed, round_id, answer, latest.decimals, updated_at)
