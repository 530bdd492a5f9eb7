"""What the account holds: the network's native coin and each known token, read in parallel."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from eth_utils import to_checksum_address

from paygo_desktop.chain.vault import ERC20_MIN_ABI
from paygo_desktop.money import Amount, Asset

if TYPE_CHECKING:
    from web3 import AsyncWeb3

log = logging.getLogger(__name__)


async def token_balance(w3: AsyncWeb3, asset: Asset, owner: str) -> Amount:
    owner = to_checksum_address(owner)
    if asset.address is None:
        return Amount(asset, int(await w3.eth.get_balance(owner)))
    token = w3.eth.contract(address=to_checksum_address(asset.address), abi=ERC20_MIN_ABI)
    return Amount(asset, int(await token.functions.balanceOf(owner).call()))


async def read_balances(w3: AsyncWeb3, owner: str, native: Asset, tokens: Sequence[Asset]) -> list[Amount]:
    """The native coin first, then each token in the order given. A listed token whose contract does not
    answer (not deployed on this chain) is left out; the native coin's failure is the network's."""
    found = await asyncio.gather(*(token_balance(w3, a, owner) for a in tokens), return_exceptions=True)
    balances = [await token_balance(w3, native, owner)]
    for asset, result in zip(tokens, found, strict=True):
        if isinstance(result, BaseException):
            log.info("%s balance not read at %s: %r", asset.symbol, asset.address, result)
            continue
        balances.append(result)
    return balances


async def token_allowance(w3: AsyncWeb3, asset: Asset, owner: str, spender: str) -> int:
    if asset.address is None:
        raise ValueError("the native coin has no allowance")
    token = w3.eth.contract(address=to_checksum_address(asset.address), abi=ERC20_MIN_ABI)
    return int(
        await token.functions.allowance(to_checksum_address(owner), to_checksum_address(spender)).call()
    )
