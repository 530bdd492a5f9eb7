"""How many chain node calls session starts may cause: per client address, and per channel.

A session start needs no proof beyond its voucher, so anybody may send one, and each may cost the provider a
call to its chain node (a channel state not read at the head yet, a ``latest`` read, a contract signer's
EIP-1271 check): calls a vendor's paid RPC endpoint counts against its quota. ``ProviderCore.start``
(``provider.session_start``) answers from what it holds first (the head view's channel states, ECDSA,
contract signatures approved before) and asks this guard before each call it would make:

* **per client address** (``start_node_calls_per_client`` a minute, a burst of as many; 0: no limit, as
  behind a reverse proxy that does not pass the client's address on): a token bucket. Past it, the start is
  answered 429 ``too_many_starts`` with ``Retry-After``. This bounds a client that makes up channel ids (each
  one new to the head view) or signatures.
* **per channel**: at most one ``latest`` read per ``start_latest_interval`` seconds (one that served a
  session that started does not count: only the signer can start one), and ``CHECKS_PER_CHANNEL``
  EIP-1271 checks, then one per interval, for starts on it. The head view is read at most once per
  channel per block anyway (concurrent reads of one channel share one call). When the head view refuses a
  channel (not funded, not enough escrow) and its ``latest`` read was spent, the head view's answer is
  given, unless a ``latest`` read of the last interval saw a later block than the head (``later``: a
  deposit the head poll has not seen yet), whose answer is then given; a start that would need an EIP-1271
  check past the bound is answered 429, before any read.

Memory is bounded: a map past ``MAX_ENTRIES`` drops the entries that no longer hold anything back.
The bounds are per worker process (several workers: each bounds its own calls).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from paygo_desktop.chain.vault import ChannelState
from paygo_desktop.provider.api_error import ApiError

MAX_ENTRIES = 100_000
CHECKS_PER_CHANNEL = 3  # EIP-1271 checks a channel's starts may cause at once; one more per interval


def too_many(wait: float, what: str) -> ApiError:
    seconds = max(1, math.ceil(wait))
    return ApiError(
        429,
        "too_many_starts",
        f"too many session starts {what} lately; try again in {seconds} s",
        headers={"Retry-After": str(seconds)},
    )


class _Buckets:
    """Token buckets by key: ``size`` tokens, one back every ``every`` seconds; bounded in number."""

    def __init__(self, size: float, every: float, monotonic: Callable[[], float]) -> None:
        self.size = size
        self.every = every
        self.monotonic = monotonic
        self._held: dict[str, tuple[float, float]] = {}  # key -> (tokens, when counted)

    def _now(self, key: str) -> tuple[float, float]:
        now = self.monotonic()
        tokens, then = self._held.get(key, (self.size, now))
        return min(self.size, tokens + (now - then) / self.every), now

    def take(self, key: str) -> float | None:
        """None when a token was taken, else the seconds until one is back."""
        tokens, now = self._now(key)
        if tokens < 1.0:
            self._held[key] = (tokens, now)
            return (1.0 - tokens) * self.every
        if len(self._held) >= MAX_ENTRIES and key not in self._held:
            for k in [k for k in self._held if self._now(k)[0] >= self.size]:
                del self._held[k]
            if len(self._held) >= MAX_ENTRIES:
                self._held.clear()
        self._held[key] = (tokens - 1.0, now)
        return None

    def free(self, key: str) -> bool:
        return self._now(key)[0] >= 1.0

    def give_back(self, key: str) -> None:
        tokens, now = self._now(key)
        self._held[key] = (min(self.size, tokens + 1.0), now)


class StartGuard:
    def __init__(
        self,
        per_client: int,
        per_channel_interval: float,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_client = per_client  # node calls a minute (and burst); 0: no limit
        self._clients = _Buckets(per_client, 60.0 / per_client if per_client else 1.0, monotonic)
        # a channel's latest read for starts, taken when asked and given back when its start succeeds (a
        # payer's sessions one after another on a channel it just funded are each read afresh)
        self._latest = _Buckets(1, per_channel_interval, monotonic)
        # a channel's EIP-1271 checks for starts (a few: a stranger's garbage does not lock its payer out)
        self._checks = _Buckets(CHECKS_PER_CHANNEL, per_channel_interval, monotonic)
        self._seen: dict[str, tuple[float, ChannelState]] = {}  # channel -> (when, its state at latest)
        self.monotonic = monotonic
        self.interval = per_channel_interval

    def spend(self, client: str | None) -> None:
        """One node call for ``client``'s start, or 429 when its budget is spent."""
        if self.per_client <= 0 or client is None:
            return
        wait = self._clients.take(client)
        if wait is not None:
            raise too_many(wait, "from this address")

    def take_latest(self, channel_hex: str) -> bool:
        """May a start read this channel at ``latest`` now (taken if so)?"""
        return self._latest.take(channel_hex) is None

    def give_back_latest(self, channel_hex: str) -> None:
        """The latest read found the channel funded for the start: it does not count."""
        self._latest.give_back(channel_hex)

    def remember(self, channel_hex: str, state: ChannelState) -> None:
        """A start's ``latest`` read of the channel, kept ``interval`` seconds (``seen``)."""
        now = self.monotonic()
        if len(self._seen) >= MAX_ENTRIES and channel_hex not in self._seen:
            for key in [k for k, (when, _) in self._seen.items() if now - when >= self.interval]:
                del self._seen[key]
            if len(self._seen) >= MAX_ENTRIES:
                self._seen.clear()
        self._seen[channel_hex] = (now, state)

    def seen(self, channel_hex: str) -> ChannelState | None:
        """The channel's state read at ``latest`` by a start within the last ``interval`` seconds."""
        entry = self._seen.get(channel_hex)
        if entry is None or self.monotonic() - entry[0] >= self.interval:
            return None
        return entry[1]

    def check_free(self, channel_hex: str) -> None:
        """429 when no EIP-1271 check may be made for a start on this channel now (nothing taken)."""
        if not self._checks.free(channel_hex):
            raise too_many(self._checks.every, "on this channel")

    def signature_check(self, channel_hex: str) -> None:
        """A start's EIP-1271 check on this channel, or 429 when too many were made lately."""
        wait = self._checks.take(channel_hex)
        if wait is not None:
            raise too_many(wait, "on this channel")


def later(a: ChannelState, b: ChannelState) -> bool:
    """Was ``a`` read at a later block than ``b``? Deposits, claims and withdrawals only grow and a close is
    final: ``a`` holds at least as much of each, and more of one. (A pending withdrawal goes up and down:
    states that differ only there are not ordered.)"""
    not_less = (
        a.deposited >= b.deposited
        and a.claimed >= b.claimed
        and a.withdrawn >= b.withdrawn
        and (a.closed or not b.closed)
    )
    more = (
        a.deposited > b.deposited or a.claimed > b.claimed or a.withdrawn > b.withdrawn or a.closed > b.closed
    )
    return not_less and more
