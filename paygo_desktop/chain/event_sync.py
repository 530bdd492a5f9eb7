"""Event sync: read a vault's logs in chunks into the local index, resuming where it stopped.

Nodes limit eth_getLogs (a block range, a result count, a time budget). When a query is refused, the chunk
is halved and tried again, down to a single block; after successes it grows back. Each chunk's events and
the cursor are saved in one transaction, so an interrupted sync neither skips nor duplicates anything.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields
from typing import Any

from web3.types import RPCEndpoint

from paygo_desktop.chain.deployment_block import deployment_block
from paygo_desktop.chain.log_ranges import LogRangeWalker
from paygo_desktop.chain.vault import Closed, VaultClient, VaultEvent
from paygo_desktop.store.vault_events import StoredEvent, VaultEventIndex
from paygo_desktop.store.worker import StoreWorker

log = logging.getLogger(__name__)


class EventSyncError(Exception):
    """The node refused even a one-block query, or is unreachable."""


class LogsRefused(Exception):
    """The node answered eth_getLogs with a JSON-RPC error; ``args[0]`` is the error object."""


@dataclass
class SyncReport:
    from_block: int
    to_block: int
    events_added: int = 0
    requests: int = 0
    narrowed: int = 0
    chunk_sizes: list[int] = field(default_factory=list)


def to_stored(chain_id: int, vault: str, event: VaultEvent) -> StoredEvent:
    fields = {f.name: getattr(event, f.name) for f in dataclass_fields(event) if f.name != "meta"}
    amount = event.provider_amount if isinstance(event, Closed) else event.amount
    data = {k: (("0x" + v.hex()) if isinstance(v, bytes) else v) for k, v in fields.items()}
    data = {k: (str(v) if isinstance(v, int) else v) for k, v in data.items()}
    return StoredEvent(
        chain_id=chain_id,
        vault=vault,
        block_number=event.meta.block_number,
        tx_hash="0x" + event.meta.tx_hash.hex(),
        log_index=event.meta.log_index,
        name=type(event).__name__,
        channel_id="0x" + event.channel_id.hex(),
        payer=event.payer,
        provider=event.provider,
        amount=int(amount),
        data=data,
    )


class VaultEventSync:
    def __init__(
        self,
        vault: VaultClient,
        index: VaultEventIndex,
        chain_id: int,
        *,
        start_block: int | None = None,
        chunk: int = 2_000,
        max_chunk: int = 10_000,
        confirmations: int = 0,
    ) -> None:
        self.vault = vault
        self.index = index
        self.chain_id = chain_id
        self.start_block = start_block  # None: the vault's deployment block (chain.deployment_block)
        self.chunk = max(1, chunk)
        self.max_chunk = max(self.chunk, max_chunk)
        self.confirmations = confirmations
        self.store_work = StoreWorker()  # the index's SQL off the event loop (the GUI thread), in order

    async def sync(
        self, *, to_block: int | None = None, on_progress: Callable[[SyncReport], None] | None = None
    ) -> SyncReport:
        w3 = self.vault.w3
        cursor = await self.store_work(self.index.cursor, self.chain_id, self.vault.address)
        if to_block is None:
            to_block = int(await w3.eth.block_number) - self.confirmations
        if cursor is not None:
            start = cursor + 1
        elif self.start_block is not None:
            start = self.start_block
        else:
            first = await deployment_block(w3, self.vault.address, to_block)
            if first is None:  # no vault there (yet): nothing to read, and no cursor saved
                return SyncReport(from_block=to_block + 1, to_block=to_block)
            start = first
        report = SyncReport(from_block=start, to_block=to_block)
        walker = LogRangeWalker(self.chunk, self.max_chunk)

        def refused(block: int, reason: str) -> Exception:
            return EventSyncError(f"The node refused the logs of block {block}: {reason}")

        async for frm, end, logs in walker.walk(start, to_block, self._get_logs, refused):
            events = [to_stored(self.chain_id, self.vault.address, e) for e in self.vault.decode_logs(logs)]
            report.events_added += await self.store_work(
                self.index.save_chunk, self.chain_id, self.vault.address, end, events
            )
            report.chunk_sizes.append(end - frm + 1)
            report.requests, report.narrowed = walker.requests, walker.narrowed
            if on_progress:
                on_progress(report)
        report.requests, report.narrowed = walker.requests, walker.narrowed
        self.chunk = walker.chunk
        return report

    async def _get_logs(self, frm: int, to: int) -> list[Any]:
        """eth_getLogs as the node sends it: web3's result formatters would cost more than the decoding."""
        query = {"address": self.vault.address, "fromBlock": hex(frm), "toBlock": hex(to)}
        response = await self.vault.w3.provider.make_request(RPCEndpoint("eth_getLogs"), [query])
        if "error" in response:
            raise LogsRefused(response["error"])
        return list(response.get("result") or [])
