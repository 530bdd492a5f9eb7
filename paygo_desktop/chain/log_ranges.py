"""Reading a block range's logs in chunks a node accepts.

Nodes limit eth_getLogs (a block range, a result count, a time budget). ``LogRangeWalker`` asks for a
chunk; when the node refuses, it halves the chunk and asks again, down to a single block (a refused single
block is an error for the caller to name); after each chunk the caller has handled, the chunk doubles again
up to ``max_chunk``. The app's event sync and the provider's withdrawal watch both read through it.
``first_block_at`` finds where to start for a walk that begins at a time (a job's or a payment's).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from paygo_desktop.chain.rpc_errors import short_rpc_message

log = logging.getLogger(__name__)


async def first_block_at(w3: Any, when: int) -> int:
    """The first block at or after the Unix time ``when`` (0 if the chain began after it): a binary search
    over block timestamps, about 25 reads on a chain of tens of millions of blocks."""
    low, high = 0, int(await w3.eth.block_number)
    while low < high:
        middle = (low + high) // 2
        if int((await w3.eth.get_block(middle))["timestamp"]) < when:
            low = middle + 1
        else:
            high = middle
    return low


class LogRangeWalker:
    def __init__(self, chunk: int = 2_000, max_chunk: int = 10_000) -> None:
        self.chunk = max(1, chunk)
        self.max_chunk = max(self.chunk, max_chunk)
        self.requests = 0
        self.narrowed = 0

    async def walk(
        self,
        start: int,
        end: int,
        fetch: Callable[[int, int], Awaitable[list[Any]]],
        refused: Callable[[int, str], Exception],
    ) -> AsyncIterator[tuple[int, int, list[Any]]]:
        """Yield ``(first, last, logs)`` for consecutive chunks of ``start..end``. The next chunk is asked
        for only once the caller resumes, so a caller that saves a cursor per chunk never skips one.
        ``refused(block, reason)`` makes the exception raised when even one block is refused."""
        frm = start
        while frm <= end:
            to = min(end, frm + self.chunk - 1)
            self.requests += 1
            try:
                logs = await fetch(frm, to)
            except Exception as exc:
                reason = short_rpc_message(exc)
                if to == frm:
                    raise refused(frm, reason) from None
                self.chunk = max(1, (to - frm + 1) // 2)
                self.narrowed += 1
                log.info(
                    "eth_getLogs %d-%d refused (%s); narrowing to %d blocks", frm, to, reason, self.chunk
                )
                continue
            yield frm, to, logs
            frm = to + 1
            self.chunk = min(self.max_chunk, self.chunk * 2)
