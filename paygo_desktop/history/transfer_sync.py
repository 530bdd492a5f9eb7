"""Every movement of an account's money, synced from the chain into the local index, resuming where it
stopped.

Per chunk of blocks (narrowed when the node refuses, ``chain.log_ranges``):

* ERC-20 ``Transfer`` events to or from the account, on any token contract: ``eth_getLogs`` filtered by
  topic (the account in the ``from`` topic, then in the ``to`` topic). Any node answers this.
* Native coin (ETH) moved to or from the account, by a transaction or inside one (a vault paying out):
  ``trace_filter``, where the node offers it (anvil, Erigon, Reth, some providers). Plain ``eth_getLogs``
  cannot see these: a native transfer writes no event. A node without traces is asked once; the cursor
  remembers the answer, and the history then says that ETH received from others is not shown.
* The account's own transactions, with the fee each cost (gas times its price, plus the L1 data fee an
  L2 like Base adds): from the traces where there are, else the transactions this app sent and the
  senders of the account's outgoing token transfers.

The chunk's rows and the cursor are saved in one transaction (``store.transfers``). On a public network
the first sync starts ``HISTORY_DAYS`` back (the cursor keeps where it started, and the page says so);
on a local chain at block 0.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from eth_utils import to_checksum_address
from web3.types import RPCEndpoint

from paygo_desktop.chain.erc20_transfers import TRANSFER_TOPIC_HEX, address_topic
from paygo_desktop.chain.log_decoding import as_bytes, as_int
from paygo_desktop.chain.log_ranges import LogRangeWalker
from paygo_desktop.store.transfers import AccountTx, Transfer, TransferCursor, TransferIndex

log = logging.getLogger(__name__)

HISTORY_DAYS = 30
MAX_TRACE_DEPTH = 6  # trace positions up to this depth get their own log index (see _trace_index)


class TransferSyncError(Exception):
    """The node refused even a one-block query, or is unreachable."""


class NodeRefused(Exception):
    """A JSON-RPC error answer (``args[0]``)."""


@dataclass
class TransferSyncReport:
    from_block: int
    to_block: int
    start_block: int  # where this account's history begins in the index
    native: bool  # whether ETH moved by others is visible (traces)
    added: int = 0
    requests: int = 0
    chunk_sizes: list[int] = field(default_factory=list)


def _trace_index(trace_address: list[int]) -> int:
    """A negative log index unique within the transaction for a trace position: [] -> -1, [0] -> -1001,
    [0, 2] -> -1001003, …"""
    value = 1
    for step in trace_address[:MAX_TRACE_DEPTH]:
        value = value * 1000 + min(int(step), 998) + 1
    return -value


class TransferSync:
    def __init__(
        self,
        w3: Any,
        index: TransferIndex,
        chain_id: int,
        account: str,
        *,
        local: bool,
        chunk: int = 2_000,
        max_chunk: int = 10_000,
        confirmations: int = 0,
        on_progress: Callable[[TransferSyncReport], None] | None = None,
    ) -> None:
        self.w3 = w3
        self.index = index
        self.chain_id = chain_id
        self.account = to_checksum_address(account)
        self.local = local
        self.chunk = chunk
        self.max_chunk = max_chunk
        self.confirmations = confirmations
        self.on_progress = on_progress
        self._block_times: dict[int, int] = {}

    async def _rpc(self, method: str, params: list[Any]) -> Any:
        response = await self.w3.provider.make_request(RPCEndpoint(method), params)
        if "error" in response:
            raise NodeRefused(response["error"])
        return response.get("result")

    async def sync(self) -> TransferSyncReport:
        head = int(await self._rpc("eth_blockNumber", []), 16)
        to_block = max(0, head - self.confirmations)
        cursor = await asyncio.to_thread(self.index.cursor, self.chain_id, self.account)  # SQL: off the loop
        if cursor is None:
            start_block = 0 if self.local else await self._history_start(to_block)
            cursor = TransferCursor(start_block, start_block - 1, await self._traces_offered(to_block))
        report = TransferSyncReport(cursor.last_block + 1, to_block, cursor.start_block, cursor.native)
        walker = LogRangeWalker(self.chunk, self.max_chunk)

        def refused(block: int, reason: str) -> Exception:
            return TransferSyncError(f"The node refused the history of block {block}: {reason}")

        native = cursor.native

        async def fetch(first: int, last: int) -> list[Any]:
            return await self._fetch(first, last, native)

        async for first, last, found in walker.walk(cursor.last_block + 1, to_block, fetch, refused):
            transfers, txs = await self._chunk(first, last, found, cursor.native)
            cursor = TransferCursor(cursor.start_block, last, cursor.native)
            await asyncio.to_thread(
                self.index.save_chunk, self.chain_id, self.account, cursor, transfers, txs
            )
            report.added += len(transfers)
            report.chunk_sizes.append(last - first + 1)
            report.requests = walker.requests
            if self.on_progress is not None:
                self.on_progress(report)
        report.requests = walker.requests
        return report

    async def _history_start(self, head: int) -> int:
        """The block about ``HISTORY_DAYS`` ago, from the chain's own pace over the last 10,000 blocks."""
        back = min(head, 10_000)
        if back == 0:
            return 0
        now = await self._block_time(head)
        then = await self._block_time(head - back)
        per_block = max(1.0, (now - then) / back)
        return max(0, head - int(HISTORY_DAYS * 86_400 / per_block))

    async def _traces_offered(self, block: int) -> bool:
        try:
            await self._rpc(
                "trace_filter",
                [{"fromBlock": hex(block), "toBlock": hex(block), "toAddress": [self.account]}],
            )
        except Exception as exc:
            log.info("no trace_filter on chain %s (%s): ETH from others is not listed", self.chain_id, exc)
            return False
        return True

    async def _fetch(self, first: int, last: int, native: bool) -> list[Any]:
        """Everything the chunk needs, in one list: ("log", log) and ("trace", trace) entries."""
        span = {"fromBlock": hex(first), "toBlock": hex(last)}
        mine = address_topic(self.account)
        queries = [
            self._rpc("eth_getLogs", [{**span, "topics": [TRANSFER_TOPIC_HEX, mine]}]),
            self._rpc("eth_getLogs", [{**span, "topics": [TRANSFER_TOPIC_HEX, None, mine]}]),
        ]
        if native:
            queries.append(self._rpc("trace_filter", [{**span, "fromAddress": [self.account]}]))
            queries.append(self._rpc("trace_filter", [{**span, "toAddress": [self.account]}]))
        answers = await asyncio.gather(*queries)
        found: list[Any] = [("log", entry) for answer in answers[:2] for entry in (answer or [])]
        found += [("trace", entry) for answer in answers[2:] for entry in (answer or [])]
        return found

    async def _block_time(self, number: int) -> int:
        if number not in self._block_times:
            block = await self._rpc("eth_getBlockByNumber", [hex(number), False])
            self._block_times[number] = int(block["timestamp"], 16)
        return self._block_times[number]

    async def _chunk(
        self, first: int, last: int, found: list[Any], native: bool
    ) -> tuple[list[Transfer], list[AccountTx]]:
        moves: dict[tuple[str, int], tuple[int, str | None, str, str, int]] = {}
        own = set(await asyncio.to_thread(self.index.sent_by_app, self.chain_id, self.account, first, last))
        outgoing_token_txs: set[str] = set()
        for kind, entry in found:
            if kind == "log":
                topics = entry.get("topics") or []
                data = as_bytes(entry.get("data") or "0x")
                if len(topics) != 3 or len(data) < 32 or entry.get("removed"):
                    continue  # an ERC-721 Transfer (4 topics) or a malformed log
                sender = to_checksum_address("0x" + as_bytes(topics[1])[-20:].hex())
                recipient = to_checksum_address("0x" + as_bytes(topics[2])[-20:].hex())
                tx_hash = "0x" + as_bytes(entry["transactionHash"]).hex()
                token = to_checksum_address(str(entry["address"]))
                amount = int.from_bytes(data[:32], "big")
                moves[(tx_hash, as_int(entry["logIndex"]))] = (
                    as_int(entry["blockNumber"]),
                    token,
                    sender,
                    recipient,
                    amount,
                )
                if sender == self.account:
                    outgoing_token_txs.add(tx_hash)
            else:
                action = entry.get("action") or {}
                tx_hash = str(entry.get("transactionHash"))
                if (
                    not entry.get("traceAddress")
                    and str(action.get("from", "")).lower() == self.account.lower()
                ):
                    own.add(tx_hash)  # a transaction the account sent, whatever it moved (or if it failed)
                if entry.get("error") or entry.get("type") not in ("call", "create"):
                    continue
                sender = to_checksum_address(str(action.get("from")))
                recipient_raw = action.get("to") or (entry.get("result") or {}).get("address")
                value = int(str(action.get("value") or "0x0"), 16)
                if value == 0 or not recipient_raw:
                    continue
                recipient = to_checksum_address(str(recipient_raw))
                position = _trace_index(list(entry.get("traceAddress") or []))
                moves[(tx_hash, position)] = (int(entry["blockNumber"]), None, sender, recipient, value)
        if outgoing_token_txs - own:
            own |= await self._sent_by_account(outgoing_token_txs - own)
        txs = [tx for tx in await asyncio.gather(*(self._own_tx(h) for h in sorted(own))) if tx is not None]
        times = {b: await self._block_time(b) for b in sorted({m[0] for m in moves.values()})}
        transfers = [
            Transfer(
                self.chain_id,
                self.account,
                tx_hash,
                position,
                block,
                times[block],
                token,
                sender,
                recipient,
                amount,
            )
            for (tx_hash, position), (block, token, sender, recipient, amount) in moves.items()
        ]
        if not native:  # without traces, the account's own ETH sends are still known from their value
            known = {(t.tx_hash, t.log_index) for t in transfers}
            transfers += [t for t in await self._own_values(txs) if (t.tx_hash, t.log_index) not in known]
        return transfers, txs

    async def _sent_by_account(self, hashes: set[str]) -> set[str]:
        found: set[str] = set()
        for tx_hash in hashes:
            tx = await self._rpc("eth_getTransactionByHash", [tx_hash])
            if tx and to_checksum_address(str(tx["from"])) == self.account:
                found.add(tx_hash)
        return found

    async def _own_tx(self, tx_hash: str) -> AccountTx | None:
        receipt = await self._rpc("eth_getTransactionReceipt", [tx_hash])
        if not receipt or to_checksum_address(str(receipt["from"])) != self.account:
            return None
        gas = int(receipt["gasUsed"], 16) * int(receipt.get("effectiveGasPrice") or "0x0", 16)
        l1_fee = int(receipt.get("l1Fee") or "0x0", 16)  # OP-stack chains (Base): the L1 data fee
        block = int(receipt["blockNumber"], 16)
        to = receipt.get("to")
        return AccountTx(
            self.chain_id,
            self.account,
            tx_hash,
            block,
            await self._block_time(block),
            to_checksum_address(str(to)) if to else None,
            gas + l1_fee,
            int(receipt.get("status") or "0x1", 16) == 1,
        )

    async def _own_values(self, txs: list[AccountTx]) -> list[Transfer]:
        """ETH the account's own transactions carried (a node without traces shows no native movement)."""
        found: list[Transfer] = []
        for tx in txs:
            if not tx.succeeded or tx.to_address is None:
                continue
            data = await self._rpc("eth_getTransactionByHash", [tx.tx_hash])
            value = int(str((data or {}).get("value") or "0x0"), 16)
            if value:
                found.append(
                    Transfer(
                        self.chain_id,
                        self.account,
                        tx.tx_hash,
                        -1,
                        tx.block_number,
                        tx.block_time,
                        None,
                        self.account,
                        tx.to_address,
                        value,
                    )
                )
        return found
