"""``PayGoVault.channelState(id)`` read as one raw JSON-RPC ``eth_call``, without web3's contract stack.

``VaultClient.channel_state`` goes through web3's contract call: ABI lookup and argument normalisers, the
request middlewares (whose transaction validator asks the node for ``eth_chainId`` before every call),
result formatters and the ABI decoder. That costs about 2.3 ms of CPU in the caller per read; the
reference provider reads a channel on every session start and stop, so a burst of starts spent most of its
event-loop time there. This reader sends the pre-encoded calldata (selector + channel id) through the web3
provider's ``make_request`` (the same HTTP session, no middlewares, no formatters) against ``latest`` and
decodes the six static words with eth_abi: about 0.4 ms. Nothing is cached: every call is a fresh read,
at ``latest`` or at a given block number (``block``: what the provider's ``chain_view`` caches per head),
and ``block_number`` is the node's head (``eth_blockNumber``, the same raw way).

The answer is the same ``ChannelState`` as ``VaultClient.channel_state`` (tests/chain compares them on a
real node). A JSON-RPC error or an answer of the wrong shape (e.g. no contract at the address) raises
``ChannelStateReadError``; transport errors propagate as the HTTP library raises them.
"""

from __future__ import annotations

from typing import Any

from eth_abi import decode as abi_decode
from eth_utils import keccak, to_checksum_address
from web3 import AsyncWeb3
from web3.types import RPCEndpoint

from paygo_desktop.chain.vault import ChannelState

CHANNEL_STATE_SELECTOR = keccak(text="channelState(bytes32)")[:4]
CHANNEL_STATE_TYPES = ("uint128", "uint128", "uint128", "uint128", "uint64", "bool")
_ETH_CALL = RPCEndpoint("eth_call")
_BLOCK_NUMBER = RPCEndpoint("eth_blockNumber")


class ChannelStateReadError(Exception):
    """The node refused the ``eth_call`` or answered something that is not a channel state."""


def channel_state_calldata(channel_id: bytes) -> str:
    """The ``eth_call`` data of ``channelState(channel_id)``, as the node takes it (0x-hex)."""
    if len(channel_id) != 32:
        raise ValueError(f"a channel id is 32 bytes, got {len(channel_id)}")
    return "0x" + (CHANNEL_STATE_SELECTOR + channel_id).hex()


def decode_channel_state(result: Any) -> ChannelState:
    """The node's ``eth_call`` result (0x-hex of six ABI words) as a ``ChannelState``."""
    if not isinstance(result, str) or not result.startswith("0x"):
        raise ChannelStateReadError(f"unexpected eth_call result: {str(result)[:80]!r}")
    data = bytes.fromhex(result[2:])
    if len(data) != 32 * len(CHANNEL_STATE_TYPES):  # e.g. "0x": no contract at the vault's address
        raise ChannelStateReadError(f"channelState returned {len(data)} bytes, expected 192")
    try:
        words = abi_decode(CHANNEL_STATE_TYPES, data)
    except Exception as exc:  # a value out of its uintN range
        raise ChannelStateReadError(f"channelState returned malformed words: {exc}") from None
    deposited, claimed, withdrawn, pending, ready_at, closed = words
    return ChannelState(
        int(deposited), int(claimed), int(withdrawn), int(pending), int(ready_at), closed=bool(closed)
    )


class ChannelStateReader:
    """Fresh ``channelState`` reads of one vault through a web3 provider's raw ``make_request``."""

    def __init__(self, w3: AsyncWeb3, vault: str) -> None:
        self.provider = w3.provider
        self.vault = to_checksum_address(vault)
        self._to = self.vault.lower()

    async def channel_state(self, channel_id: bytes, block: int | None = None) -> ChannelState:
        """The channel's state at ``block`` (a number), or at the node's ``latest`` block."""
        call = {"to": self._to, "data": channel_state_calldata(channel_id)}
        at = "latest" if block is None else hex(block)
        response = await self.provider.make_request(_ETH_CALL, [call, at])
        error = response.get("error")
        if error is not None:
            message = error.get("message", error) if isinstance(error, dict) else error
            raise ChannelStateReadError(f"eth_call channelState refused: {str(message)[:200]}")
        return decode_channel_state(response.get("result"))

    async def block_number(self) -> int:
        """The node's head block number."""
        response = await self.provider.make_request(_BLOCK_NUMBER, [])
        result = response.get("result")
        if not isinstance(result, str) or not result.startswith("0x"):
            raise ChannelStateReadError(f"unexpected eth_blockNumber answer: {str(response)[:120]!r}")
        return int(result, 16)
