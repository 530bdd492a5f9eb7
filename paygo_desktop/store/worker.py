"""The store's work from the event loop, off it and in order.

``await worker(fn, *args)`` runs ``fn`` in a worker thread (the loop's default executor) so that SQL never
blocks the GUI thread, one call after the other in the order they were asked for: a write asked for first
is committed first (a voucher is stored before the request that sends it starts). A caller cancelled while
its call runs still waits for it to finish before it goes, so calls never overlap.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


class StoreWorker:
    def __init__(self) -> None:
        self._locks: dict[asyncio.AbstractEventLoop, asyncio.Lock] = {}

    def _lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        lock = self._locks.get(loop)
        if lock is None:
            self._locks = {loop: asyncio.Lock()}  # one loop at a time; a closed loop's lock is dropped
            lock = self._locks[loop]
        return lock

    async def __call__(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        async with self._lock():
            call = asyncio.ensure_future(asyncio.to_thread(fn, *args, **kwargs))
            try:
                return await asyncio.shield(call)
            except asyncio.CancelledError:
                await asyncio.wait({call})  # the thread finishes its call; the next one starts after it
                raise
