"""What the app's (and the provider's) connection to a chain node holds a node's answers to
(``chain.rpc``), against hostile nodes on loopback: a custom network's RPC may be anybody's.

An answer is read only to its size limit (web3 read all of it first: 1.5 GiB in 8 s before the refusal),
a compressed one is refused unread (gzip twice inflates kilobytes into gigabytes before any limit counts),
and a node that has gone silent costs one timeout, not five (web3 tried timeouts again)."""

from __future__ import annotations

import asyncio
import time
import tracemalloc

import pytest
from web3.exceptions import BadResponseFormat

from paygo_desktop.chain import rpc
from paygo_desktop.chain.rpc import async_web3
from tests.dribbling_server import compressed_server, endless_server, silent_server

ANSWER = b'{"jsonrpc": "2.0", "id": 0, "result": "0x2a"}'


async def _chain_id(url: str, timeout: float = 5) -> int:
    w3 = async_web3(url, timeout=timeout)
    try:
        return await w3.eth.chain_id
    finally:
        await w3.provider.disconnect()


async def test_an_answer_larger_than_the_limit_is_refused_once_the_limit_is_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(rpc, "MAX_RPC_BYTES", 1024 * 1024)
    async with endless_server() as url:
        began = time.monotonic()
        with pytest.raises(BadResponseFormat, match="larger than 1048576 bytes"):
            await asyncio.wait_for(_chain_id(url), 20)
        assert time.monotonic() - began < 3  # before: read until the timeout, then a timeout error


async def test_a_compressed_answer_is_refused_unread() -> None:
    padded = ANSWER[:-1] + b" " * 50_000_000 + b"}"  # 50 MB once inflated
    async with compressed_server(padded) as url:
        tracemalloc.start()
        try:
            with pytest.raises(BadResponseFormat, match="gzip, gzip-compressed answer"):
                await _chain_id(url)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert peak < 10_000_000, f"{peak} bytes held while refusing it"


async def test_a_silent_node_costs_one_timeout_not_five() -> None:
    async with silent_server() as url:
        began = time.monotonic()
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(_chain_id(url, timeout=1), 20)
        assert time.monotonic() - began < 2.5  # before: five tries of a second each, with back-off
