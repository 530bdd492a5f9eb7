"""Channel states read at the chain's head block, each read once per block.

Every voucher is checked against the channel's on-chain state (core: coverage = escrow − pending
withdrawal). A channel's state changes only in a new block, so a state read at block N stays the truth
until the head moves past N. ``ChainView`` polls the node's head (``eth_blockNumber``, every
``head_poll_interval``); it answers from the states read at the current head, reads a channel not read
yet at that head (an ``eth_call`` pinned to the head's number, not ``latest``; callers asking for the same
channel while that read is on its way share it), and drops all of them the moment it sees a new head.
``held`` answers only from what it holds (no node call): session starts ask it first (session_start).

Only the generous direction needs the bound: a state a block old can only overstate coverage after a
withdrawal request, and understate it after a deposit. So a check that *refuses* on the head's state
(core: a voucher above the coverage, a session start) asks again at ``latest`` before it answers, and a
payer who just topped up is never refused for the provider's lag.

The bound, and why it is sound. A withdrawal request mined in block N+1 lowers the coverage of every
voucher this provider checks once it has seen N+1: at most one poll interval after the node has it, plus
the poll's round trip. A cached state is used only while the head was confirmed by a poll in the last
``max_age`` seconds (2 × the poll interval); when the poll fails or stalls longer, every voucher reads at
``latest`` again (and gets 503 if the node is gone), so the staleness never exceeds ``max_age``. That is far
under the 5 s event poll of the cache this replaced, and inside the margin the claimer needs anyway: it
claims a channel as soon as its event watch sees the request, long before the payer may finalize it
(``min_withdraw_delay``). A node that answers a pinned read with an error (a load-balanced endpoint whose
backend has not seen the block yet) is asked at ``latest`` instead, and that answer is not kept.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Protocol

from paygo_desktop.chain.vault import ChannelState
from paygo_desktop.logs import public_hex

log = logging.getLogger(__name__)
MAX_ENTRIES = 200_000  # channel states kept for one head (a few hundred bytes each)
REORG_BACK = 64  # a head this many blocks below the one seen is a lagging backend, not a new chain


class StateReader(Protocol):
    async def channel_state(self, channel_id: bytes, block: int | None = None) -> ChannelState: ...

    async def block_number(self) -> int: ...


class ChainView:
    def __init__(
        self,
        reader: StateReader,
        poll_interval: float,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.reader = reader
        self.poll_interval = poll_interval
        self.max_age = 2 * poll_interval
        self.monotonic = monotonic
        self.head: int | None = None
        self.confirmed_at = float("-inf")  # monotonic time of the last poll that answered
        self._states: dict[bytes, ChannelState] = {}
        self._reading: dict[tuple[bytes, int], asyncio.Future[ChannelState]] = {}  # reads on their way
        self.reads = 0  # eth_calls made (tests and the benchmarks count them)
        self.hits = 0

    def fresh_head(self) -> int | None:
        """The head, if a poll confirmed it within ``max_age``; None otherwise (read at ``latest``)."""
        if self.head is not None and self.monotonic() - self.confirmed_at <= self.max_age:
            return self.head
        return None

    def see_head(self, number: int) -> None:
        """A poll's answer: a new head drops every state read at an older one. A head a few blocks below
        the one seen (a load-balanced endpoint whose backends differ by a block) is not gone back to: the
        states read at the newer head stay the truth; a head far below is a new chain (a restarted node)."""
        if self.head is not None and self.head - REORG_BACK <= number < self.head:
            self.confirmed_at = self.monotonic()
            return
        if number != self.head:
            self._states = {}
            self.head = number
        self.confirmed_at = self.monotonic()

    async def poll(self) -> None:
        self.see_head(await self.reader.block_number())

    async def run(self) -> None:
        """Poll the head until cancelled; a failed poll is logged (once per outage) and tried again."""
        failing = False
        while True:
            try:
                await self.poll()
                if failing:
                    log.info("chain head poll works again (head %s)", self.head)
                failing = False
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not failing:
                    log.warning("chain head poll failed: %r; channel states are read at latest", exc)
                failing = True
            await asyncio.sleep(self.poll_interval)

    def held(self, channel_id: bytes) -> ChannelState | None:
        """The channel's state at the head if it was read there already (no node call), else None."""
        if self.fresh_head() is None:
            return None
        state = self._states.get(channel_id)
        if state is not None:
            self.hits += 1
        return state

    async def channel_state(
        self, channel_id: bytes, *, latest: bool = False, shared: bool = False
    ) -> ChannelState:
        """The channel's state at the head (read once per head), or at ``latest`` when the head is stale or
        ``latest`` is asked for (not kept: a state the head poll has not confirmed). Callers asking for the
        same channel while its read is on its way share it: at the head, at ``latest`` for a stale head, and
        at an asked-for ``latest`` when ``shared`` (a read sent a moment before the ask will do: session
        starts); otherwise an asked-for ``latest`` is a read of its own, sent after the ask."""
        if latest and not shared:
            self.reads += 1
            return await self.reader.channel_state(channel_id)
        head = None if latest else self.fresh_head()
        if head is not None:
            state = self._states.get(channel_id)
            if state is not None:
                self.hits += 1
                return state
        key = (channel_id, -1 if head is None else head)
        reading = self._reading.get(key)
        if reading is None:  # one read per channel and head, however many ask for it at once
            reading = asyncio.ensure_future(
                self._read_latest(channel_id) if head is None else self._read_at(channel_id, head)
            )
            self._reading[key] = reading
            reading.add_done_callback(lambda done: self._read_done(key, done))
        else:
            self.hits += 1
        return await asyncio.shield(reading)

    def _read_done(self, key: tuple[bytes, int], done: asyncio.Future[ChannelState]) -> None:
        self._reading.pop(key, None)
        if not done.cancelled():
            done.exception()  # retrieved: every asker may have gone

    async def _read_latest(self, channel_id: bytes) -> ChannelState:
        self.reads += 1
        return await self.reader.channel_state(channel_id)

    async def _read_at(self, channel_id: bytes, head: int) -> ChannelState:
        self.reads += 1
        try:
            state = await self.reader.channel_state(channel_id, head)
        except Exception as exc:
            log.debug(
                "reading %s at block %d failed (%r); reading at latest", public_hex(channel_id), head, exc
            )
            self.reads += 1
            return await self.reader.channel_state(channel_id)
        if self.head == head:  # the head did not move while the read was on its way
            if len(self._states) >= MAX_ENTRIES:
                self._states = {}
            self._states[channel_id] = state
        return state
