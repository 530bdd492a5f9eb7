"""Minimal transaction sending for the chain layer (web3 AsyncWeb3).

A *sender* is either a local account (eth-account ``LocalAccount``: signed here, sent raw) or a plain
address string of an account unlocked on the node (``eth_sendTransaction``; local anvil only).
The full transaction manager (nonce tracking, fee bumping, persistence) lives elsewhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Union

from eth_utils import to_checksum_address
from hexbytes import HexBytes

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount
    from web3 import AsyncWeb3

Sender = Union["LocalAccount", str]


class TransactionFailed(RuntimeError):
    """A mined transaction reverted (status 0)."""

    def __init__(self, tx_hash: bytes, receipt: Any) -> None:
        super().__init__(f"transaction 0x{tx_hash.hex()} reverted")
        self.tx_hash = tx_hash
        self.receipt = receipt


@dataclass(frozen=True)
class SignedTx:
    """A transaction signed here and not broadcast yet: its hash and nonce are known before it leaves."""

    raw: bytes
    tx_hash: bytes
    nonce: int


@dataclass(frozen=True)
class TxResult:
    tx_hash: bytes
    receipt: Any
    gas_used: int
    block_number: int


def sender_address(sender: Sender) -> str:
    return to_checksum_address(sender if isinstance(sender, str) else sender.address)


async def send(
    w3: AsyncWeb3,
    fn: Any,
    sender: Sender,
    *,
    value: int = 0,
    gas: int | None = None,
    fees: Mapping[str, int] | None = None,
    timeout: float = 60.0,
) -> TxResult:
    """Send a prepared contract call (``contract.functions.f(...)``) or constructor and wait for the receipt.

    Gas is estimated by the node when ``gas`` is None, so a call that would revert raises
    ``web3.exceptions.ContractLogicError`` before anything is sent. ``fees`` (``chain.fees.FeeQuote.params``)
    sets the gas price, also for that estimate; without it web3 picks one (and estimates at price 0).
    """
    if isinstance(sender, str):
        params = _call_params(sender, value, gas, fees)
        tx_hash = bytes(await fn.transact(params))
    else:
        signed = await sign_call(w3, fn, sender, value=value, gas=gas, fees=fees)
        tx_hash = bytes(await w3.eth.send_raw_transaction(signed.raw))
    return await wait_mined(w3, tx_hash, timeout)


def _call_params(
    sender: Sender, value: int, gas: int | None, fees: Mapping[str, int] | None
) -> dict[str, Any]:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError("value must be a non-negative int (wei)")
    params: dict[str, Any] = {"from": sender_address(sender), "value": value, **(fees or {})}
    if gas is not None:
        params["gas"] = gas
    return params


async def sign_call(
    w3: AsyncWeb3,
    fn: Any,
    account: LocalAccount,
    *,
    value: int = 0,
    gas: int | None = None,
    fees: Mapping[str, int] | None = None,
) -> SignedTx:
    """``send``'s first half for a local account: the call estimated (``ContractLogicError`` when it would
    revert), given the node's pending nonce count and signed, not broadcast; ``send_raw_transaction`` of its
    ``raw`` and ``wait_mined`` of its hash are the rest. A caller that must know what is on its way (its hash,
    its nonce) records it in between."""
    params = _call_params(account, value, gas, fees)
    params["nonce"] = int(await w3.eth.get_transaction_count(account.address, "pending"))
    tx = await fn.build_transaction(params)
    signed = account.sign_transaction(tx)
    return SignedTx(bytes(signed.raw_transaction), bytes(signed.hash), int(params["nonce"]))


async def send_data(
    w3: AsyncWeb3, to: str, data: bytes, sender: Sender, *, gas: int | None = None, timeout: float = 60.0
) -> TxResult:
    """Send raw call data to ``to`` (no ABI: e.g. the deterministic-deployment proxy) and wait for it."""
    from web3._utils.async_transactions import async_fill_transaction_defaults

    params: dict[str, Any] = {"from": sender_address(sender), "to": to_checksum_address(to), "data": data}
    if gas is not None:
        params["gas"] = gas
    if isinstance(sender, str):
        tx_hash = bytes(await w3.eth.send_transaction(params))  # type: ignore[arg-type]
    else:
        params["nonce"] = await w3.eth.get_transaction_count(sender.address, "pending")
        tx = await async_fill_transaction_defaults(w3, params)  # type: ignore[arg-type]
        signed = sender.sign_transaction(dict(tx))  # type: ignore[arg-type]
        tx_hash = bytes(await w3.eth.send_raw_transaction(signed.raw_transaction))
    return await wait_mined(w3, tx_hash, timeout)


async def wait_mined(w3: AsyncWeb3, tx_hash: bytes, timeout: float) -> TxResult:
    """The transaction's receipt within ``timeout`` seconds (web3's ``TimeExhausted`` past it);
    ``TransactionFailed`` if it reverted."""
    receipt = await w3.eth.wait_for_transaction_receipt(HexBytes(tx_hash), timeout=timeout, poll_latency=0.05)
    if receipt["status"] != 1:
        raise TransactionFailed(tx_hash, receipt)
    return TxResult(
        tx_hash=tx_hash,
        receipt=receipt,
        gas_used=int(receipt["gasUsed"]),
        block_number=int(receipt["blockNumber"]),
    )
