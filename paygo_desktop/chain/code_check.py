"""Trusting a contract by its code: ``eth_getCode`` on the chain the app is connected to, hashed, against the
code this app's build of the contract has there (``chain.create2.expected_runtime_code``).

A vault's runtime code holds immutables (its minimum withdrawal delay, the chain id and its own address in
the cached EIP-712 domain), so the expected code is computed for the chain and the address. At the
canonical address every byte is fixed, the constructor argument included. At another address (a vault a
test or an older sandbox deployed itself, configured explicitly) the minimum delay is read from the code and
every other byte must match: the same contract, built by the same compiler, with another constructor
argument. Anything else (no code, another contract, a modified vault) is refused with a message that names
the address and both code hashes.
"""

from __future__ import annotations

from typing import Any

from eth_utils import keccak, to_checksum_address

from paygo_desktop.chain.canonical import VAULT, CanonicalContract
from paygo_desktop.chain.create2 import (
    code_at,
    expected_runtime_code,
    vault_min_delay_in_code,
    vault_runtime_code,
)
from paygo_desktop.errors import UserFacingError


class UntrustedContract(UserFacingError):
    """The contract at an address is not the one the app expects there."""


class NotDeployed(UntrustedContract):
    """No code at the address on this chain."""


def code_hash(code: bytes) -> str:
    return "0x" + bytes(keccak(code)).hex()


async def check_vault(w3: Any, address: str, *, where: str = "this chain", network_key: str = "") -> int:
    """Raise unless ``address`` holds PayGoVault v1 as this app builds it; return its MIN_WITHDRAW_DELAY.

    ``where`` (the network's name) and ``network_key`` only shape the messages."""
    address = to_checksum_address(address)
    chain_id = int(await w3.eth.chain_id)
    code = await code_at(w3, address)
    if not code:
        deploy = f" (`paygo-desktop contracts deploy --network {network_key}`)" if network_key else ""
        what = "PayGo's vault" if address == VAULT.address else "a PayGo vault"
        raise NotDeployed(
            f"{what[0].upper()}{what[1:]} is not deployed on {where} yet: there is no contract at {address}. "
            f"A vendor deploys it once for everyone{deploy}."
        )
    delay = int(VAULT.constructor_args[0]) if address == VAULT.address else vault_min_delay_in_code(code)
    expected = vault_runtime_code(chain_id, address, delay) if delay is not None else b""
    if keccak(code) != keccak(expected):
        raise UntrustedContract(
            f"The contract at {address} on {where} is not PayGo's vault v{VAULT.version}: its code hash is "
            f"{code_hash(code)}, PayGo's vault there has {code_hash(expected)}. The app will not use it."
        )
    assert delay is not None
    return delay


async def check_contract_code(w3: Any, contract: CanonicalContract, chain_id: int | None = None) -> None:
    """Raise unless ``contract`` is at its canonical address with exactly its expected code."""
    if chain_id is None:
        chain_id = int(await w3.eth.chain_id)
    code = await code_at(w3, contract.address)
    if not code:
        raise NotDeployed(
            f"{contract.name} is not deployed on chain {chain_id}: no code at {contract.address}."
        )
    expected = expected_runtime_code(contract, chain_id)
    if keccak(code) != keccak(expected):
        raise UntrustedContract(
            f"The contract at {contract.address} on chain {chain_id} is not {contract.name} "
            f"v{contract.version}: its code hash is {code_hash(code)}, {contract.name}'s there is "
            f"{code_hash(expected)}."
        )
