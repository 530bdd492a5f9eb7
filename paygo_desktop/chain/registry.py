"""PayGoRegistry: bindings (the vendor's register, update and remove), its events decoded with bounds, and the
resumable sync of its events into the local index (``store.registry_entries``).

Registry events carry strings, so the vault's static-word log decoder does not apply: each log's data is
bounded before it is ABI-decoded, and the strings are decoded as bytes and then as UTF-8 with replacement
(a registrant can store any bytes; the Services page refuses what is not clean text). A log that does not
decode (only a lying node can send one) is skipped and counted.

The sync reads from the block the registry was deployed in (found once, by bisecting ``eth_getCode`` over
the chain's history; 0 where the node keeps no history), in chunks a node accepts (``LogRangeWalker``);
each chunk's changes and the cursor are saved in one transaction. A cursor above the chain's head means the
chain was replaced (a new local chain): what was read from the old one is forgotten first.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eth_abi import decode as abi_decode
from eth_utils import keccak, to_checksum_address
from web3.types import RPCEndpoint

from paygo_desktop.chain.artifacts import load_artifact
from paygo_desktop.chain.deployment_block import deployment_block
from paygo_desktop.chain.log_decoding import as_bytes, as_int
from paygo_desktop.chain.log_ranges import LogRangeWalker
from paygo_desktop.store.registry_entries import RegistryChange, RegistryIndex

log = logging.getLogger(__name__)

MAX_CATALOG_URL_BYTES = 256  # PayGoRegistry.MAX_CATALOG_URL_LENGTH
MAX_NAME_BYTES = 64  # PayGoRegistry.MAX_NAME_LENGTH
MAX_EVENT_DATA = 4 * 32 + 2 * 288  # two offsets, two lengths, both strings at their longest, padded

REGISTERED = keccak(text="ProviderRegistered(address,address,string,string)")
UPDATED = keccak(text="ProviderUpdated(address,address,string,string)")
REMOVED = keccak(text="ProviderRemoved(address)")


class RegistrySyncError(Exception):
    """The node refused even a one-block query."""


def decode_change(entry: Any) -> RegistryChange | None:
    """A registry log as a change, None if it is not one of the registry's events or does not decode."""
    try:
        topics = [as_bytes(t) for t in entry["topics"]]
        if not topics or any(len(t) != 32 for t in topics):
            return None
        block, index = as_int(entry["blockNumber"]), as_int(entry["logIndex"])
        if topics[0] == REMOVED and len(topics) == 2:
            return RegistryChange(_address(topics[1]), block, index, removed=True)
        if topics[0] not in (REGISTERED, UPDATED) or len(topics) != 3:
            return None
        data = as_bytes(entry["data"])
        if len(data) > MAX_EVENT_DATA:
            return None
        url, name = abi_decode(["bytes", "bytes"], data)
        if len(url) > MAX_CATALOG_URL_BYTES or len(name) > MAX_NAME_BYTES:
            return None
        return RegistryChange(
            provider=_address(topics[1]),
            block_number=block,
            log_index=index,
            signing_key=_address(topics[2]),
            catalog_url=bytes(url).decode("utf-8", errors="replace"),
            name=bytes(name).decode("utf-8", errors="replace"),
        )
    except Exception:  # a malformed log: eth_abi, hex and key errors alike
        return None


def _address(topic: bytes) -> str:
    if any(topic[:12]):
        raise ValueError("not an address topic")
    return str(to_checksum_address(topic[12:]))


class RegistryClient:
    """One deployed PayGoRegistry."""

    def __init__(self, w3: Any, address: str) -> None:
        self.w3 = w3
        self.address = to_checksum_address(address)
        self.contract = w3.eth.contract(address=self.address, abi=load_artifact("PayGoRegistry").abi)

    async def registration(self, provider: str) -> tuple[str, str, str] | None:
        """(catalog URL, name, signing key) of ``provider``, None if it is not registered."""
        url, name, key = await self.contract.functions.registration(to_checksum_address(provider)).call()
        if int(key, 16) == 0:
            return None
        return str(url), str(name), to_checksum_address(key)

    def register_call(self, catalog_url: str, name: str, signing_key: str) -> Any:
        return self.contract.functions.register(catalog_url, name, to_checksum_address(signing_key))

    def update_call(self, catalog_url: str, name: str, signing_key: str) -> Any:
        return self.contract.functions.update(catalog_url, name, to_checksum_address(signing_key))

    def remove_call(self) -> Any:
        return self.contract.functions.remove()


@dataclass
class RegistrySyncReport:
    from_block: int
    to_block: int
    changes: int = 0
    skipped_logs: int = 0  # logs that did not decode


class RegistrySync:
    def __init__(
        self,
        w3: Any,
        registry: str,
        index: RegistryIndex,
        chain_id: int,
        *,
        chunk: int = 2_000,
        max_chunk: int = 50_000,
        confirmations: int = 0,
        in_thread: Callable[..., Any] = asyncio.to_thread,
    ) -> None:
        self.w3 = w3
        self.registry = to_checksum_address(registry)
        self.index = index
        self.chain_id = chain_id
        self.chunk = chunk
        self.max_chunk = max_chunk
        self.confirmations = confirmations
        self._in_thread = in_thread  # the store's reads and writes run off the event loop's thread

    async def sync(self) -> RegistrySyncReport:
        head = int(await self.w3.eth.block_number) - self.confirmations
        cursor = await self._in_thread(self.index.cursor, self.chain_id, self.registry)
        if cursor is not None and cursor > head:  # the chain was replaced: start again
            await self._in_thread(self.index.forget, self.chain_id, self.registry)
            cursor = None
        if cursor is None:
            first = await deployment_block(self.w3, self.registry, head)
            if first is None:  # not deployed (yet): nothing to read
                return RegistrySyncReport(head + 1, head)
            start = first
        else:
            start = cursor + 1
        report = RegistrySyncReport(from_block=start, to_block=head)
        walker = LogRangeWalker(self.chunk, self.max_chunk)

        def refused(block: int, reason: str) -> Exception:
            return RegistrySyncError(f"The node refused the registry's logs of block {block}: {reason}")

        async for _frm, end, logs in walker.walk(start, head, self._get_logs, refused):
            changes = [decode_change(entry) for entry in logs]
            good = [c for c in changes if c is not None]
            report.skipped_logs += len(changes) - len(good)
            report.changes += await self._in_thread(
                self.index.apply_chunk, self.chain_id, self.registry, end, good
            )
        if report.skipped_logs:
            log.warning("registry %s: %d log(s) did not decode", self.registry, report.skipped_logs)
        return report

    async def _get_logs(self, frm: int, to: int) -> list[Any]:
        query = {"address": self.registry, "fromBlock": hex(frm), "toBlock": hex(to)}
        response = await self.w3.provider.make_request(RPCEndpoint("eth_getLogs"), [query])
        if "error" in response:
            raise RuntimeError(str(response["error"])[:200])
        return list(response.get("result") or [])
