"""Decode event logs straight from their topics and 32-byte data words.

web3's ``process_log`` costs about half a millisecond a log (ABI normalisers, checksumming every address,
AttributeDicts), which made a 100,000-event sync take a minute. Every PayGoVault event has static fields
only (bytes32, address, uintN), so each field is one topic or one data word: this decoder reads them
directly, checksums each distinct address once, and accepts logs as web3 formats them (HexBytes, ints) or
as the node sends them (hex strings), so the event sync can skip web3's result formatting too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from eth_utils import keccak, to_checksum_address


class UnsupportedEventAbi(ValueError):
    """An event with a dynamic or unusual field type: this decoder only reads static words."""


@dataclass(frozen=True)
class DecodedLog:
    name: str
    args: dict[str, Any]
    address: str  # lower-case hex, as compared
    block_number: int
    tx_hash: bytes
    log_index: int


def as_bytes(value: Any) -> bytes:
    """A topic, data blob or hash as bytes, whether the node's hex string or web3's HexBytes."""
    if isinstance(value, str):
        return bytes.fromhex(value[2:] if value.startswith(("0x", "0X")) else value)
    return bytes(value)


def as_int(value: Any) -> int:
    if isinstance(value, str):
        return int(value, 16)
    return int(value)


@lru_cache(maxsize=4096)
def _checksum(word_tail: bytes) -> str:
    return str(to_checksum_address("0x" + word_tail.hex()))


def _word_reader(typ: str) -> Callable[[bytes], Any]:
    if typ == "address":
        return lambda word: _checksum(word[12:])
    if typ == "bytes32":
        return bytes
    if typ == "bool":
        return lambda word: word[-1] == 1
    if typ.startswith("uint") and (typ == "uint" or typ[4:].isdigit()):
        return lambda word: int.from_bytes(word, "big")
    if typ.startswith("int") and (typ == "int" or typ[3:].isdigit()):
        return lambda word: int.from_bytes(word, "big", signed=True)
    raise UnsupportedEventAbi(f"event field type {typ!r} is not a static word")


def event_signature(entry: Mapping[str, Any]) -> str:
    return f"{entry['name']}({','.join(i['type'] for i in entry['inputs'])})"


@dataclass(frozen=True)
class _EventLayout:
    name: str
    indexed: tuple[tuple[str, Callable[[bytes], Any]], ...]
    data: tuple[tuple[str, Callable[[bytes], Any]], ...]


class LogDecoder:
    """Decodes one contract's events (those in ``abi``); logs of other contracts or events are skipped."""

    def __init__(self, address: str, abi: list[dict[str, Any]]) -> None:
        self.address = address.lower()
        self._layouts: dict[bytes, _EventLayout] = {}
        for entry in abi:
            if entry.get("type") != "event" or entry.get("anonymous"):
                continue
            inputs = entry["inputs"]
            self._layouts[keccak(text=event_signature(entry))] = _EventLayout(
                name=entry["name"],
                indexed=tuple((i["name"], _word_reader(i["type"])) for i in inputs if i.get("indexed")),
                data=tuple((i["name"], _word_reader(i["type"])) for i in inputs if not i.get("indexed")),
            )

    def decode(self, log: Mapping[str, Any]) -> DecodedLog | None:
        if str(log["address"]).lower() != self.address or not log["topics"]:
            return None
        topics = log["topics"]
        layout = self._layouts.get(as_bytes(topics[0]))
        if layout is None or len(topics) != len(layout.indexed) + 1:
            return None
        args: dict[str, Any] = {}
        for (name, read), topic in zip(layout.indexed, topics[1:], strict=True):
            args[name] = read(as_bytes(topic))
        data = as_bytes(log["data"])
        if len(data) < 32 * len(layout.data):
            return None
        for i, (name, read) in enumerate(layout.data):
            args[name] = read(data[32 * i : 32 * i + 32])
        return DecodedLog(
            name=layout.name,
            args=args,
            address=self.address,
            block_number=as_int(log["blockNumber"]),
            tx_hash=as_bytes(log["transactionHash"]),
            log_index=as_int(log["logIndex"]),
        )
