"""Which worker runs the provider's background duties, and one claim transaction at a time.

The claimer (vault-event watch, retries, scheduled claims), the expiry sweep and the release of delivered
jobs (``provider.job_release``) run in one worker only, the *leader*. Claims are sent from the provider's
one key: two senders at once would race for its nonces, and a voucher must never be claimed twice, so every
claim (the leader's, and ``POST /vendor/claim`` on whichever worker it reaches) also holds the *claim lock*
(as do the job desk's deliveries and releases).

* SQLite: one process; it is the leader, and the claim lock is an asyncio lock.
* PostgreSQL: the leader is the worker holding a session-level advisory lock
  (``pg_try_advisory_lock(LEADER_KEY)``) on a connection of its own. Every worker tries to take it every
  ``RETRY`` seconds; the lock dies with its connection, so when the leader's process dies (or loses the
  database) another worker takes over within ``RETRY`` seconds. The leader checks its connection at the
  same pace and steps down when it is gone. The claim lock is ``pg_advisory_lock(CLAIM_KEY)``, held on a
  connection for the time of one claim round; within one worker an asyncio lock comes first, so the
  worker waits on one connection at most.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from paygo_desktop.provider.store import Store

log = logging.getLogger(__name__)

LEADER_KEY = 0x5047594C  # "PGYL"
CLAIM_KEY = 0x50475943  # "PGYC"
RETRY = 1.0
CLAIM_WAIT = 120.0  # longest wait for the claim lock (a claim round takes a few blocks)

Duty = Callable[[], Coroutine[Any, Any, None]]


class Coordinator:
    """Runs ``duties`` (coroutines, cancelled when leadership ends) while this worker leads."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.is_leader = False
        self._claims = asyncio.Lock()
        self._engine: Any = None
        if store.is_postgres:  # connections of their own, outside the pool the requests use
            self._engine = create_engine(store.url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
        self.on_change: Callable[[bool], None] = lambda _leader: None

    async def run(self, duties: list[Duty]) -> None:
        """Lead when possible and run the duties meanwhile; until cancelled."""
        if self._engine is None:
            await self._lead(duties, None)
            return
        while True:
            conn = await self._try_lead()
            if conn is not None:
                try:
                    await self._lead(duties, conn)
                finally:
                    with contextlib.suppress(Exception):
                        conn.close()
            await asyncio.sleep(RETRY)

    async def _try_lead(self) -> Any:
        try:
            conn = self._engine.connect()
        except Exception as exc:
            log.warning("cannot reach the database to take the lead: %r", exc)
            return None
        try:
            won = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": LEADER_KEY}).scalar()
        except Exception as exc:
            log.warning("taking the lead failed: %r", exc)
            won = False
        if not won:
            conn.close()
            return None
        return conn

    async def _lead(self, duties: list[Duty], conn: Any) -> None:
        self._set(True)
        tasks: list[asyncio.Task[None]] = [asyncio.create_task(duty()) for duty in duties]
        try:
            while True:
                await asyncio.sleep(RETRY)
                if conn is not None:
                    try:
                        conn.execute(text("SELECT 1"))
                    except Exception as exc:
                        log.warning("lost the leader's database connection (%r): stepping down", exc)
                        return
                for i, task in enumerate(tasks):  # a duty that died is logged and started again
                    if task.done() and not task.cancelled() and task.exception() is not None:
                        log.error("leader duty failed: %r; restarting it", task.exception())
                        tasks[i] = asyncio.create_task(duties[i]())
        finally:
            self._set(False)
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(BaseException):
                    await task

    def _set(self, leader: bool) -> None:
        if leader != self.is_leader:
            log.info(
                "this worker %s the provider's claims, expiry sweep and job releases",
                "runs" if leader else "stops",
            )
        self.is_leader = leader
        self.on_change(leader)

    @contextlib.asynccontextmanager
    async def claim_lock(self) -> AsyncIterator[None]:
        """Held while claims are simulated and sent: one claim round at a time, across all workers."""
        async with self._claims:
            if self._engine is None:
                yield
                return
            conn = self._engine.connect()
            try:
                waited = 0.0
                while not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": CLAIM_KEY}).scalar():
                    if waited >= CLAIM_WAIT:
                        raise TimeoutError("another worker holds the claim lock")
                    await asyncio.sleep(0.05)
                    waited += 0.05
                try:
                    yield
                finally:
                    with contextlib.suppress(Exception):
                        conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": CLAIM_KEY})
            finally:
                conn.close()

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
