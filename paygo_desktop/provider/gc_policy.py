"""How the served provider collects cyclic garbage: its start-up objects are frozen out of the collector.

A full (generation 2) collection walks every object the collector tracks while holding the GIL. The
provider's heap after start-up (web3 and its ABI tables, eth-account, FastAPI and pydantic schemas,
SQLAlchemy mappers) made each one take 75-150 ms, and every request in flight waited that long: a large
part of the voucher latency tail at 1,000 sessions (benchmarks/results-provider.md). Those objects live as
long as the process, so once the app is built they are frozen (``gc.freeze``: never traversed again).
The thresholds stay CPython's: what a full collection still walks is the provider's own per-session
state, and it took under 3 ms at 1,000 sessions. Reference counting and the young generations work as
before, so memory stays flat.

Only ``provider.server.serve`` applies it (a process that is only the provider); an app built inside a test
process leaves that process's collector alone.
"""

from __future__ import annotations

import gc


def settle_after_startup() -> None:
    """Collect once now, then freeze the survivors out of every later collection."""
    gc.collect()
    gc.freeze()
