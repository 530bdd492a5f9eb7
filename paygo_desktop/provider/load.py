"""Overload: a paying session is never cut off because this provider was slow, and new sessions are refused
first.

**Arrival time.** A request's arrival is taken at the edge: when the HTTP protocol reads its first bytes
(``connection_guard`` stamps the ASGI scope with it), else when ``EdgeMiddleware``, the outermost layer,
first sees it. Both run on the worker's event loop, so a stalled loop would stamp late: a 50 ms ticker
watches the loop, and ``edge_time`` answers the moment the loop was last seen running (its last tick, plus
one tick); for ``STALL_REACH`` seconds after a stall the ticker noticed, the moment the stall began (the
bytes read then may have waited in the kernel through all of it). The voucher and stop routes judge lateness
at that arrival (core: ``queued`` seconds before now), never at the moment a busy worker got to them.

**Slow senders.** The time a client takes to send its request is the client's, not this provider's: a
request whose bytes trickle in must not make the provider look slow (new sessions shed) nor hold the sweep
back (every session's expiry late). So a request's wait before dispatch counts from when its headers were
all read (``HEADERS_KEY``, stamped by ``connection_guard``), and a voucher or stop counts as having arrived
at most ``TRANSIT`` seconds before its body was all read: until then it holds the sweep back by at most
``TRANSIT``, and adds nothing to the pressure.

**The expiry sweep** must not expire a session whose voucher arrived in time and still waits in some
worker. Every worker reports a *horizon* (``WorkerRow.horizon_at``, every ``HEARTBEAT`` seconds): no
voucher or stop it holds unanswered arrived before it (the oldest such request it holds, one whose body is
still coming in counting as arrived ``TRANSIT`` seconds ago at the most; or now less its current queueing).
The sweep expires only sessions whose deadline is before the earliest horizon of the live workers; a
worker silent for ``silence_limit`` seconds is presumed dead (its requests died with it).

**Shedding.** The worker's *pressure* is the longest of, over the last second: a request's wait between
its headers and its dispatch, the event loop's lag, and the age of the oldest voucher or stop it still
holds since its body was read. Above ``overload_delay`` the worker refuses new sessions (``POST
/streams/start``, ``POST /sessions``) with 503 ``busy`` and ``Retry-After``, and keeps refusing them until
the pressure has stayed under the limit for ``overload_hold`` seconds. Vouchers, stops and everything else
are always served: the sessions already paying come first. ``/health`` says whether new sessions are taken
(``acceptingSessions``, ``retryAfter``).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import math
import os
import re
import socket
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import delete, select, update
from sqlalchemy.engine import CursorResult

from paygo_desktop.protocol import routes
from paygo_desktop.provider.store import Store, WorkerRow

log = logging.getLogger(__name__)

TICK = 0.05  # the loop ticker's period (edge_time, loop lag)
STALL_REACH = 0.5  # requests read this soon after a stall ended count as arrived when it began
WINDOW = 1.0  # pressure is the largest sample of the last one to two windows
HEARTBEAT = 0.5  # seconds between two reports of a worker in the database
ARRIVAL_KEY = "paygo.arrival"  # the ASGI scope key of a request's arrival (real time, Unix seconds)
HEADERS_KEY = "paygo.headers"  # ... of the moment its headers were all read
RECEIVED_KEY = "paygo.received"  # ... and its body (when the protocol stamped them; else when the app saw it)
# A voucher or stop counts as arrived at most this long before its body was all read (an honest request's
# bytes come in together, or one retransmission apart): a client trickling its body gains nothing by it
TRANSIT = 1.0

_NEW_SESSION = {("POST", routes.STREAM_START), ("POST", routes.SESSIONS)}
_CRITICAL = re.compile(
    "^"
    + re.escape(routes.PREFIX)
    + r"/streams/[A-Za-z0-9_-]{1,64}/(vouchers|stop)$"
    + "|^"
    + re.escape(routes.SESSIONS_END)
    + "$"
)


class _Ticker:
    """An event loop's ticker (``LoadMonitor.run``): when the loop last ran, its latest stall."""

    def __init__(self) -> None:
        self.last: float | None = None  # real time of the last tick
        self.stall_began = float("-inf")  # the last tick before the latest stall the ticker noticed
        self.stall_ended = float("-inf")  # when it noticed it


_TICKERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Ticker] = weakref.WeakKeyDictionary()


def edge_time() -> float:
    """The real time a request reaching this event loop now may have arrived: now, or, if the loop has been
    stalled (no tick for more than a tick), one tick after the last tick it ran; shortly after a stall the
    ticker already noticed, one tick after the stall began. Without a ticker on this loop: now."""
    now = time.time()
    try:
        ticker = _TICKERS.get(asyncio.get_running_loop())
    except RuntimeError:
        ticker = None
    if ticker is None or ticker.last is None:
        return now
    if now - ticker.stall_ended <= STALL_REACH:
        return min(now, ticker.stall_began + TICK)
    return min(now, ticker.last + TICK)


class _WindowMax:
    """The largest sample of the current and the previous window (O(1) per sample)."""

    def __init__(self, monotonic: Callable[[], float]) -> None:
        self.monotonic = monotonic
        self.start = monotonic()
        self.current = 0.0
        self.previous = 0.0

    def _roll(self) -> None:
        now = self.monotonic()
        if now - self.start >= WINDOW:
            self.previous = self.current if now - self.start < 2 * WINDOW else 0.0
            self.current = 0.0
            self.start = now

    def add(self, value: float) -> None:
        self._roll()
        if value > self.current:
            self.current = value

    def value(self) -> float:
        self._roll()
        return max(self.current, self.previous)


@dataclass
class _Held:
    """A voucher or stop a worker holds unanswered."""

    arrival: float  # when it arrived, as the sweep and lateness count it
    read: float | None = None  # when its body was all read (None: still coming in)


class LoadMonitor:
    """One worker's view of its load (see the module doc)."""

    def __init__(
        self,
        store: Store,
        *,
        overload_delay: float,
        overload_hold: float,
        silence_limit: float,
        worker_id: str | None = None,
        slot: int | None = None,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.overload_delay = overload_delay
        self.overload_hold = overload_hold
        self.silence_limit = silence_limit
        self.slot = slot  # this worker's number under provider.workers (None: the only process)
        self.worker_id = worker_id or f"{socket.gethostname()[:40]}:{os.getpid()}:{int(wall())}"
        self.wall = wall
        self.monotonic = monotonic
        self.started_at = wall()
        self.leader = False
        self._held: dict[int, _Held] = {}  # voucher/stop requests in progress
        self._tokens = itertools.count()
        self._waits = _WindowMax(monotonic)  # headers read -> dispatch
        self._lags = _WindowMax(monotonic)  # event loop lag
        self._shed_until = float("-inf")  # monotonic
        self._others: tuple[float, float] = (float("-inf"), 0.0)  # (read at, earliest horizon of others)
        self.shed_count = 0

    # ---------------------------------------------------------------- requests

    def dispatched(self, waited: float) -> None:
        self._waits.add(max(0.0, waited))

    def hold(self, arrival: float) -> int:
        """Hold a voucher or stop whose headers are in (its body may still be coming)."""
        token = next(self._tokens)
        self._held[token] = _Held(arrival)
        return token

    def received(self, token: int, at: float) -> float:
        """The held request's body was all read at ``at``: its arrival from now on (at most ``TRANSIT``
        before ``at``), which lateness is judged at."""
        held = self._held[token]
        held.arrival, held.read = max(held.arrival, at - TRANSIT), at
        return held.arrival

    def release(self, token: int) -> None:
        self._held.pop(token, None)

    def oldest_held(self) -> float | None:
        """The earliest arrival, as the sweep counts it, of the requests held: a request whose body is
        still coming in counts as arrived ``TRANSIT`` seconds ago at the most."""
        if not self._held:
            return None
        coming = edge_time() - TRANSIT
        return min(h.arrival if h.read is not None else max(h.arrival, coming) for h in self._held.values())

    def oldest_read(self) -> float | None:
        """When the body of the longest-waiting held request whose body is in was read."""
        return min((h.read for h in self._held.values() if h.read is not None), default=None)

    # ---------------------------------------------------------------- pressure and shedding

    def pressure(self) -> float:
        """Seconds: the longest wait before dispatch, loop lag, or voucher still unanswered since it was
        read, lately."""
        oldest = self.oldest_read()
        held = 0.0 if oldest is None else max(0.0, self.wall() - oldest)
        return max(self._waits.value(), self._lags.value(), held)

    def accepting(self) -> bool:
        """False while this worker sheds new sessions (pressure over the limit, or not long ago)."""
        now = self.monotonic()
        if self.pressure() > self.overload_delay:
            if now >= self._shed_until:
                log.warning(
                    "overloaded (requests wait %.2f s): refusing new sessions for %.0f s",
                    self.pressure(),
                    self.overload_hold,
                )
            self._shed_until = now + self.overload_hold
        return now >= self._shed_until

    def retry_after(self) -> int:
        """Whole seconds until new sessions may be taken again (at least 1)."""
        return max(1, math.ceil(self._shed_until - self.monotonic()))

    def busy_response(self) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        self.shed_count += 1
        wait = self.retry_after()
        body = json.dumps(
            {
                "code": "busy",
                "message": f"the provider is busy; try again in {wait} s",
                "retryAfter": wait,
            }
        ).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"retry-after", str(wait).encode()),
            (b"content-length", str(len(body)).encode()),
        ]
        return 503, headers, body

    # ---------------------------------------------------------------- horizon (the expiry sweep)

    def horizon(self) -> float:
        """Real time before which none of this worker's unanswered vouchers or stops arrived: the oldest
        one it holds, and now less its recent queueing and loop lag (requests read, or still in the kernel,
        but not dispatched yet: after a stall their arrival lies back by the stall)."""
        now = edge_time() - max(self._waits.value(), self._lags.value())
        oldest = self.oldest_held()
        return now if oldest is None else min(now, oldest)

    def slack(self) -> float:
        """Seconds the expiry sweep must hold back: how long ago the earliest horizon of all live workers
        (this one's now, the others' as last reported) lies."""
        earliest = self.horizon()
        read_at, others = self._others
        if self.monotonic() - read_at > HEARTBEAT * 2:
            others = self._read_others()
        return max(0.0, self.wall() - min(earliest, others))

    def _read_others(self) -> float:
        alive_since = self.wall() - self.silence_limit
        with self.store.tx() as db:
            found = db.scalar(
                select(WorkerRow.horizon_at)
                .where(WorkerRow.id != self.worker_id, WorkerRow.heartbeat_at >= alive_since)
                .order_by(WorkerRow.horizon_at)
                .limit(1)
            )
        earliest = float("inf") if found is None else float(found)
        self._others = (self.monotonic(), earliest)
        return earliest

    # ---------------------------------------------------------------- the worker's report

    def report(self) -> None:
        """Write this worker's heartbeat, horizon, delay and shedding state; forget long-silent workers."""
        now = self.wall()
        values = {
            "heartbeat_at": now,
            "horizon_at": self.horizon(),
            "delay": self.pressure(),
            "shedding": not self.accepting(),
            "leader": self.leader,
        }
        with self.store.tx() as db:
            done = db.execute(update(WorkerRow).where(WorkerRow.id == self.worker_id).values(**values))
            if cast(CursorResult[Any], done).rowcount == 0:
                db.execute(
                    self.store.insert_ignore(WorkerRow.__table__).values(
                        id=self.worker_id, started_at=self.started_at, **values
                    )
                )
            db.execute(delete(WorkerRow).where(WorkerRow.heartbeat_at < now - max(600.0, self.silence_limit)))
        self._read_others()

    def workers(self) -> tuple[int, int]:
        """(live workers, of which shedding new sessions), from the workers' reports."""
        alive_since = self.wall() - self.silence_limit
        with self.store.tx() as db:
            rows = db.execute(select(WorkerRow.shedding).where(WorkerRow.heartbeat_at >= alive_since)).all()
        return len(rows), sum(1 for r in rows if r.shedding)

    def leave(self) -> None:
        with contextlib.suppress(Exception), self.store.tx() as db:
            db.execute(delete(WorkerRow).where(WorkerRow.id == self.worker_id))

    async def run(self) -> None:
        """The loop ticker (lag, ``edge_time``) and the heartbeat, until cancelled."""
        ticker = _TICKERS[asyncio.get_running_loop()] = _Ticker()
        beat = self.monotonic()
        expected = time.time() + TICK
        while True:
            await asyncio.sleep(TICK)
            now = time.time()
            lag = max(0.0, now - expected)
            self._lags.add(lag)
            if lag > TICK and ticker.last is not None:
                ticker.stall_began, ticker.stall_ended = ticker.last, now
            ticker.last = now
            expected = now + TICK
            if self.monotonic() - beat >= HEARTBEAT:
                beat = self.monotonic()
                try:
                    self.report()
                except Exception as exc:
                    log.warning("worker heartbeat failed: %r", exc)


def _respond(status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


class EdgeMiddleware:
    """The outermost ASGI layer: stamps a request's arrival (if the protocol did not), records its wait
    before dispatch, sheds new sessions under overload and holds vouchers and stops in the monitor until
    they are answered (the sweep's horizon), their arrival moved up to ``TRANSIT`` before their body's end."""

    def __init__(self, app: Any, monitor: Callable[[], LoadMonitor | None]) -> None:
        self.app = app
        self.monitor = monitor

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        monitor = self.monitor()
        if scope["type"] != "http" or monitor is None:
            await self.app(scope, receive, send)
            return
        arrival = scope.get(ARRIVAL_KEY)
        if arrival is None:
            arrival = scope[ARRIVAL_KEY] = edge_time()
        # the wait before dispatch counts from the headers' end: sending them slowly is the client's time
        monitor.dispatched(time.time() - scope.get(HEADERS_KEY, arrival))
        method, path = scope["method"], scope["path"]
        if (method, path) in _NEW_SESSION and not monitor.accepting():
            await _respond(*monitor.busy_response())(scope, receive, send)
            return
        if not _CRITICAL.match(path):
            await self.app(scope, receive, send)
            return
        token = monitor.hold(arrival)

        async def receive_body() -> Any:
            message = await receive()
            if message["type"] == "http.request" and not message.get("more_body", False):
                scope[ARRIVAL_KEY] = monitor.received(token, scope.get(RECEIVED_KEY) or edge_time())
            return message

        try:
            await self.app(scope, receive_body, send)
        finally:
            monitor.release(token)


def queued(scope: Any) -> float:
    """Seconds since the request arrived (0 without an arrival stamp)."""
    arrival = scope.get(ARRIVAL_KEY)
    return 0.0 if arrival is None else max(0.0, time.time() - arrival)


# A request that waited less than this in the provider is judged when it is handled (a few milliseconds
# change no verdict); one that waited longer, at its arrival (this module).
QUEUE_IGNORED = 0.1


def arrival(now: float, queued: float) -> float:
    """When a request that waited ``queued`` seconds before ``now`` arrived, as far as rules care."""
    return now - queued if queued >= QUEUE_IGNORED else now
