"""The gas price a transaction will be sent with, quoted before it is sent, so a check made by ``eth_call``
(a simulation, a gas estimate, a contract wallet's EIP-1271 answer) runs at that price.

An ``eth_call`` without a gas price runs with ``tx.gasprice == 0``, which a mined transaction never has:
a contract can answer one way in every check and the other way on chain. The quote is what web3 would
fill in for an EIP-1559 transaction (``maxPriorityFeePerGas`` from the node, ``maxFeePerGas`` = that plus
twice the latest base fee), or the node's legacy gas price on a chain without a base fee. All in wei.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from web3 import AsyncWeb3


@dataclass(frozen=True)
class FeeQuote:
    max_fee: int  # wei per gas: the most a transaction pays (the legacy gas price on a chain without 1559)
    priority: int | None  # wei per gas: the tip; None on a chain without a base fee (legacy pricing)
    block_gas_limit: int

    def params(self) -> dict[str, Any]:
        """The fee fields of a transaction (or of an ``eth_call``/``eth_estimateGas`` run as it)."""
        if self.priority is None:
            return {"gasPrice": self.max_fee}
        return {"maxFeePerGas": self.max_fee, "maxPriorityFeePerGas": self.priority}

    def call_gas(self, balance: int) -> int:
        """Gas for an ``eth_call`` at this price from an account holding ``balance`` wei: the node refuses
        a call whose gas times price the account cannot pay, so at most what it can pay, at most a block."""
        return max(0, min(self.block_gas_limit, balance // max(1, self.max_fee)))


async def quote_fees(w3: AsyncWeb3) -> FeeQuote:
    block = await w3.eth.get_block("latest")
    limit = int(block["gasLimit"])
    base = block.get("baseFeePerGas")
    if base is None:
        return FeeQuote(int(await w3.eth.gas_price), None, limit)
    priority = int(await w3.eth.max_priority_fee)
    return FeeQuote(priority + 2 * int(base), priority, limit)
