"""x402's ``upto`` contracts on a local chain: the sandbox's own stand-ins for Permit2 and x402's
x402UptoPermit2Proxy (resources/contracts/testing/SandboxPermit2.sol, SandboxUptoPermit2Proxy.sol), put at
the canonical addresses the x402 SDK pays through.

On real networks both contracts sit at those addresses by CREATE2. Neither exists on anvil or the embedded
node, so each is deployed at an ordinary address and its runtime code copied to the canonical one with
``anvil_setCode`` (the proxy's Permit2 address is an immutable the constructor bakes in: the canonical one;
neither contract depends on the address it was deployed at). Local chains only."""

from __future__ import annotations

from typing import Any

from eth_utils import to_checksum_address
from x402.mechanisms.evm.constants import PERMIT2_ADDRESS

from paygo_desktop.chain.create2 import code_at
from paygo_desktop.chain.deploy import deploy_contract
from paygo_desktop.chain.tx import Sender
from paygo_desktop.chain.upto_settle_calls import UPTO_PROXY

PERMIT2 = to_checksum_address(PERMIT2_ADDRESS)
LOCAL_CHAIN_IDS = (31337, 1337)


async def install_upto_contracts(w3: Any, sender: Sender) -> bool:
    """Put SandboxPermit2 at ``PERMIT2`` and SandboxUptoPermit2Proxy at ``UPTO_PROXY`` unless both have
    code already; whether anything was installed. Refuses any chain but a local one."""
    chain_id = await w3.eth.chain_id
    if chain_id not in LOCAL_CHAIN_IDS:
        raise RuntimeError(f"The sandbox's Permit2 is for local chains only (chain id {chain_id})")
    if await code_at(w3, PERMIT2) and await code_at(w3, UPTO_PROXY):
        return False
    permit2 = await deploy_contract(w3, sender, "SandboxPermit2")
    proxy = await deploy_contract(w3, sender, "SandboxUptoPermit2Proxy", PERMIT2)
    for deployed, canonical in ((permit2.address, PERMIT2), (proxy.address, UPTO_PROXY)):
        code = await code_at(w3, deployed)
        await w3.provider.make_request("anvil_setCode", [canonical, "0x" + code.hex()])
        if await code_at(w3, canonical) != code:
            raise RuntimeError(f"The local chain did not take the code at {canonical} (anvil_setCode)")
    return True
