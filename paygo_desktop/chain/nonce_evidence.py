"""Which transaction took a sender's nonce, read only from answers pinned to a block.

A public RPC's load balancer answers from backends that can be many blocks apart: one ahead gives the head
and the nonce count, one behind answers "no receipt" for a transaction long mined. "No receipt, nonce
used" is therefore no proof that another transaction took the nonce. An answer about a given block
number is: a backend that has not seen that block errors or answers null, it cannot give another answer.

``nonce_use`` finds the block in which the sender's count went past ``nonce`` (a downward doubling search
from the block ``confirmations`` deep, then a bisection: about two calls per doubling of the distance,
never more than ``MAX_COUNT_CALLS``), reads that block with its transactions and names the sender's
transaction on that nonce in it. ``receipt_in_block`` reads a transaction's receipt by its block. Any
missing or failed answer gives None: the caller then decides nothing.

A node that prunes old state (most full nodes keep about 128 blocks of it) refuses the counts further
back. There, the node's lookup by sender and nonce may name the block instead, blocks being kept whole:
erigon keeps an index for it (``ots_getTransactionBySenderAndNonce``, kept apart from the state); reth and
anvil answer ``eth_getTransactionBySenderAndNonce`` by searching their own historical state, so only as far
back as they keep it; geth has neither. The answer is only a pointer: the block it names is read with its
transactions, as above, and must hold the sender's transaction on that nonce.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from web3.types import RPCEndpoint

from paygo_desktop.chain.rpc_errors import short_rpc_message
from paygo_desktop.logs import public_hex

log = logging.getLogger(__name__)

# eth_getTransactionCount calls per search: 2 * 64 covers any distance back to block 0.
MAX_COUNT_CALLS = 128


@dataclass(frozen=True)
class NonceUse:
    """The sender's transaction on the nonce (``tx_hash``, lower case) and the block that holds it."""

    block: int
    tx_hash: str


class _NoAnswer(Exception):
    """A block-pinned call the node could not answer (null, an error): no evidence."""


def _hex(value: Any) -> str:
    text = value.hex() if isinstance(value, bytes | bytearray) else str(value)
    return (text if text.startswith("0x") else "0x" + text).lower()


async def _count(w3: Any, sender: str, block: int) -> int:
    try:
        return int(await w3.eth.get_transaction_count(sender, block))
    except Exception as exc:
        raise _NoAnswer(f"nonce count at block {block}: {short_rpc_message(exc)}") from None


async def _block_used(w3: Any, sender: str, nonce: int, deep: int) -> int | None:
    """The first block at or below ``deep`` after which ``sender``'s count is past ``nonce``; None if the
    count at ``deep`` is not past it (not used yet, or not that deep)."""
    calls = 0

    async def past(block: int) -> bool:
        nonlocal calls
        calls += 1
        if calls > MAX_COUNT_CALLS:
            raise _NoAnswer(f"more than {MAX_COUNT_CALLS} nonce counts")
        return await _count(w3, sender, block) > nonce

    if not await past(deep):
        return None
    high, low, step = deep, -1, 1  # past at high; not past at low (-1: before block 0, count 0)
    while high - step >= 0:
        probe = high - step
        if not await past(probe):
            low = probe
            break
        high, step = probe, step * 2
    while high - low > 1:
        middle = (low + high) // 2
        if await past(middle):
            high = middle
        else:
            low = middle
    return high


async def _rpc(w3: Any, method: str, params: list[Any]) -> Any:
    """``method``'s result, or ``_NoAnswer`` (an error, a node without the method)."""
    try:
        response = await w3.provider.make_request(RPCEndpoint(method), params)
    except Exception as exc:
        raise _NoAnswer(f"{method}: {short_rpc_message(exc)}") from None
    if not isinstance(response, Mapping) or "error" in response:
        error = response.get("error") if isinstance(response, Mapping) else response
        raise _NoAnswer(f"{method}: {str(error)[:200]}")
    return response.get("result")


def _block_number(tx: Any) -> int | None:
    number = tx.get("blockNumber") if isinstance(tx, Mapping) else None
    if number is None:
        return None
    try:
        return int(number, 16) if isinstance(number, str) else int(number)
    except (TypeError, ValueError, OverflowError):  # a hostile node's Infinity or NaN among them
        return None


async def _block_by_index(w3: Any, sender: str, nonce: int, deep: int) -> int | None:
    """The block the node's index by sender and nonce names for ``nonce`` (None: not mined at or below
    ``deep``); ``_NoAnswer`` when the node keeps no such index."""
    params = [sender, hex(nonce)]
    try:
        tx = await _rpc(w3, "eth_getTransactionBySenderAndNonce", params)
    except _NoAnswer as first:
        try:
            tx_hash = await _rpc(w3, "ots_getTransactionBySenderAndNonce", params)
        except _NoAnswer as second:
            raise _NoAnswer(f"{first}; {second}") from None
        tx = await _rpc(w3, "eth_getTransactionByHash", [tx_hash]) if isinstance(tx_hash, str) else None
    block = _block_number(tx)
    return block if block is not None and block <= deep else None


async def nonce_use(w3: Any, sender: str, nonce: int, deep: int) -> NonceUse | None:
    """Which transaction of ``sender`` took ``nonce``, by block-pinned reads at or below block ``deep``.
    None when the nonce is not used at ``deep``, or when a read could not be answered (logged)."""
    try:
        try:
            block = await _block_used(w3, sender, nonce, deep)
        except _NoAnswer as counts:  # a pruning node: no state that far back; its index, if it has one
            log.info("nonce counts of %s not read (%s); asking the node's index by nonce", sender, counts)
            try:
                block = await _block_by_index(w3, sender, nonce, deep)
            except _NoAnswer as index:
                raise _NoAnswer(f"{counts}; {index}") from None
        if block is None:
            return None
        try:
            found = await w3.eth.get_block(block, full_transactions=True)
        except Exception as exc:
            raise _NoAnswer(f"block {block}: {short_rpc_message(exc)}") from None
        if not found:
            raise _NoAnswer(f"block {block}: null")
        for tx in found.get("transactions") or ():
            if (
                isinstance(tx, Mapping)
                and str(tx.get("from", "")).lower() == sender.lower()
                and int(tx.get("nonce", -1)) == nonce
            ):
                use = NonceUse(block, _hex(tx["hash"]))
                log.info(
                    "nonce %d of %s was taken by %s in block %d",
                    nonce,
                    sender,
                    public_hex(use.tx_hash),
                    block,
                )
                return use
        raise _NoAnswer(f"block {block} holds no transaction of {sender} on nonce {nonce}")
    except _NoAnswer as exc:
        log.warning("who took nonce %d of %s is not known (%s); it stays pending", nonce, sender, exc)
        return None
    except (TypeError, ValueError, OverflowError, KeyError, AttributeError) as exc:  # a malformed answer
        log.warning(
            "who took nonce %d of %s: the node's answer is malformed (%r); it stays pending",
            nonce,
            sender,
            exc,
        )
        return None


async def receipt_in_block(w3: Any, block: int, tx_hash: str) -> Any | None:
    """``tx_hash``'s receipt as block ``block``'s receipts give it (eth_getBlockReceipts), or, where the
    node lacks that method, its own receipt if that is in ``block``; None when neither is there."""
    try:
        receipts = await w3.eth.get_block_receipts(block)
    except Exception as exc:
        log.info("receipts of block %d not read (%s); asking by hash", block, short_rpc_message(exc))
        receipts = None
    if receipts is None:
        try:
            receipts = [await w3.eth.get_transaction_receipt(tx_hash)]
        except Exception as exc:
            log.info("receipt of %s not read (%s)", public_hex(tx_hash), short_rpc_message(exc))
            return None
    for receipt in receipts:
        if (
            receipt
            and _hex(receipt["transactionHash"]) == tx_hash.lower()
            and int(receipt["blockNumber"]) == block
        ):
            return receipt
    return None
