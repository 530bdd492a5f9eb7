"""The block a contract was deployed in: where reading its logs starts.

A contract has no logs before its deployment, so a first sync that starts there instead of at block 0 reads
a few thousand blocks instead of the tens of millions of a public network (Base Sepolia's head is past 30
million: from 0, even in 10,000-block chunks, thousands of eth_getLogs before the first event). Found by a
binary search over ``eth_getCode`` at past blocks (about 25 calls on Base): code, once deployed, stays, as
PayGo's contracts cannot self-destruct.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)


async def deployment_block(w3: Any, address: str, head: int) -> int | None:
    """The first block at which ``address`` has code: None if it has none at ``head`` (not deployed yet);
    0 when the node cannot answer for older blocks (a node that keeps no history), so nothing is missed."""
    if head < 0 or not await w3.eth.get_code(address, head):
        return None
    low, high = 0, head
    try:
        while low < high:
            middle = (low + high) // 2
            if await w3.eth.get_code(address, middle):
                high = middle
            else:
                low = middle + 1
    except Exception as exc:
        log.info("%s: no history for its deployment block (%r); reading its logs from block 0", address, exc)
        return 0
    return low
