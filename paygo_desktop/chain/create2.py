"""How PayGo's canonical addresses come about (``chain.canonical``), and how the contracts get there.

* **Address.** ``keccak256(0xff ++ PROXY ++ SALT ++ keccak256(init code))[12:]``, the init code being the
  artifact's creation bytecode followed by the ABI-encoded fixed constructor arguments.
* **Deployment.** A transaction to the proxy with ``SALT ++ init code`` as its data; the proxy runs CREATE2
  and reverts if it fails. Anyone can send it, on any chain: the result is the same contract at the same
  address, with no owner. A second one would fail (the address is taken), so ``chain.deploy.deploy_canonical``
  first looks whether the code is there already.
* **The proxy itself** is installed on a chain by Nick's method: a presigned transaction without chain id
  (``PROXY_DEPLOYMENT_TX``) from a one-time deployer address nobody holds the key of, which first needs
  ``PROXY_DEPLOYER_FUNDING`` wei. anvil has the proxy from genesis; the embedded node installs it this way
  at start (``sandbox.embedded_node``).
* **Runtime code.** The code a deployment must have is the artifact's runtime bytecode with its immutables
  filled in: for PayGoVault, ``MIN_WITHDRAW_DELAY`` and OpenZeppelin EIP712's cached domain (which holds the
  chain id and the vault's own address); for PayGoJobs, its EIP-712 domain
  alone. So the expected code, and its hash, is computed per chain
  (``expected_runtime_code``); ``chain.code_check`` compares it with ``eth_getCode``.
"""

from __future__ import annotations

from typing import Any

from eth_abi import encode as abi_encode
from eth_utils import keccak, to_canonical_address, to_checksum_address

from paygo_desktop.chain.artifacts import load_artifact
from paygo_desktop.chain.canonical import JOBS, PROXY, SALT, VAULT, CanonicalContract
from paygo_desktop.chain.vouchers import DOMAIN_NAME, DOMAIN_VERSION, EIP712_DOMAIN_TYPEHASH
from paygo_desktop.errors import UserFacingError

#: The proxy's runtime code (69 bytes), as on every chain that has it.
PROXY_RUNTIME_CODE = bytes.fromhex(
    "7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe03601600081602082378035828234f5"
    "8015156039578182fd5b8082525050506014600cf3"
)
#: Nick's keyless deployer of the proxy, and its presigned deployment (nonce 0, 100 gwei, 100,000 gas).
PROXY_DEPLOYER = "0x3fAB184622Dc19b6109349B94811493BF2a45362"
PROXY_DEPLOYMENT_TX = bytes.fromhex(
    "f8a58085174876e800830186a08080b853604580600e600039806000f350fe7fffffffffffffffffffffffffffffffffff"
    "ffffffffffffffffffffffffffffe03601600081602082378035828234f58015156039578182fd5b80825250505060"
    "14600cf31ba02222222222222222222222222222222222222222222222222222222222222222a0222222222222222222"
    "2222222222222222222222222222222222222222222222"
)
PROXY_DEPLOYER_FUNDING = 100 * 10**9 * 100_000  # gas price x gas limit of the presigned transaction


class ProxyMissing(UserFacingError):
    """The chain has no deterministic-deployment proxy: nothing can be deployed at the canonical address."""


# ----------------------------------------------------------------------------------------- derivation


def init_code(contract: CanonicalContract) -> bytes:
    """The creation bytecode with the contract's fixed constructor arguments."""
    code = bytes.fromhex(load_artifact(contract.name).bytecode.removeprefix("0x"))
    if contract.constructor_types:
        code += abi_encode(list(contract.constructor_types), list(contract.constructor_args))
    return code


def init_code_hash(contract: CanonicalContract) -> bytes:
    return bytes(keccak(init_code(contract)))


def create2_address(deployer: str, salt: bytes, code_hash: bytes) -> str:
    if len(salt) != 32 or len(code_hash) != 32:
        raise ValueError("salt and init code hash are 32 bytes")
    digest = keccak(b"\xff" + to_canonical_address(deployer) + salt + code_hash)
    return str(to_checksum_address(digest[12:]))


def derived_address(contract: CanonicalContract) -> str:
    """Where the committed artifact lands through the proxy (tests check it equals ``contract.address``)."""
    return create2_address(PROXY, SALT, init_code_hash(contract))


def deployment_data(contract: CanonicalContract) -> bytes:
    """The data of the transaction to ``PROXY`` that deploys ``contract``."""
    return SALT + init_code(contract)


# ----------------------------------------------------------------------------------------- runtime code


def _short_string(text: str) -> bytes:
    """OpenZeppelin's ShortString: the bytes left-aligned in a word, the length in its last byte."""
    raw = text.encode()
    if len(raw) > 31:
        raise ValueError("a ShortString holds at most 31 bytes")
    return raw.ljust(31, b"\0") + bytes([len(raw)])


def _word(value: int | bytes | str) -> bytes:
    if isinstance(value, int):
        return value.to_bytes(32, "big")
    if isinstance(value, str):
        return to_canonical_address(value).rjust(32, b"\0")
    return bytes(value).rjust(32, b"\0")


def fill_immutables(artifact_name: str, values: dict[str, int | bytes | str]) -> bytes:
    """The artifact's runtime code with each immutable set to its value (every one must be given)."""
    artifact = load_artifact(artifact_name)
    code = bytearray(bytes.fromhex(artifact.deployed_bytecode.removeprefix("0x")))
    if set(values) != set(artifact.immutables):
        raise ValueError(
            f"{artifact_name} has immutables {sorted(artifact.immutables)}, given {sorted(values)}"
        )
    for name, places in artifact.immutables.items():
        word = _word(values[name])
        for start, length in places:
            code[start : start + length] = word[32 - length :]
    return bytes(code)


def eip712_immutables(name: str, version: str, chain_id: int, address: str) -> dict[str, int | bytes | str]:
    """The immutables OpenZeppelin's EIP712 keeps for the domain ``(name, version, chain_id, address)``."""
    separator = keccak(
        abi_encode(
            ["bytes32", "bytes32", "bytes32", "uint256", "address"],
            [EIP712_DOMAIN_TYPEHASH, keccak(text=name), keccak(text=version), chain_id, address],
        )
    )
    return {
        "_cachedDomainSeparator": bytes(separator),
        "_cachedChainId": chain_id,
        "_cachedThis": address,
        "_hashedName": bytes(keccak(text=name)),
        "_hashedVersion": bytes(keccak(text=version)),
        "_name": _short_string(name),
        "_version": _short_string(version),
    }


def vault_runtime_code(chain_id: int, address: str, min_withdraw_delay: int) -> bytes:
    """The code a PayGoVault (this app's build) deployed at ``address`` on chain ``chain_id`` with
    ``min_withdraw_delay`` has."""
    return fill_immutables(
        VAULT.name,
        {
            "MIN_WITHDRAW_DELAY": min_withdraw_delay,
            **eip712_immutables(DOMAIN_NAME, DOMAIN_VERSION, chain_id, address),
        },
    )


def jobs_runtime_code(chain_id: int, address: str) -> bytes:
    """The code PayGoJobs (this app's build) has at ``address`` on chain ``chain_id``."""
    from paygo_desktop.chain.jobs import JOBS_DOMAIN_NAME, JOBS_DOMAIN_VERSION

    return fill_immutables(
        JOBS.name, eip712_immutables(JOBS_DOMAIN_NAME, JOBS_DOMAIN_VERSION, chain_id, address)
    )


def vault_min_delay_in_code(code: bytes) -> int | None:
    """The MIN_WITHDRAW_DELAY written in a vault's runtime code, None if the code is too short to hold it."""
    start, length = load_artifact(VAULT.name).immutables["MIN_WITHDRAW_DELAY"][0]
    if len(code) < start + length:
        return None
    return int.from_bytes(code[start : start + length], "big")


def expected_runtime_code(contract: CanonicalContract, chain_id: int) -> bytes:
    """The code ``contract`` has at its canonical address on chain ``chain_id``."""
    if contract.name == VAULT.name:
        (delay,) = contract.constructor_args
        return vault_runtime_code(chain_id, contract.address, int(delay))
    if contract.name == JOBS.name:
        return jobs_runtime_code(chain_id, contract.address)
    return fill_immutables(contract.name, {})


# ----------------------------------------------------------------------------------------- deployment


async def code_at(w3: Any, address: str) -> bytes:
    return bytes(await w3.eth.get_code(to_checksum_address(address)))


async def require_proxy(w3: Any) -> None:
    """Raise ``ProxyMissing`` unless the deterministic-deployment proxy is on the chain with its code."""
    code = await code_at(w3, PROXY)
    if code != PROXY_RUNTIME_CODE:
        what = "is not on this chain" if not code else "has other code on this chain"
        raise ProxyMissing(
            f"The deterministic-deployment proxy {PROXY} {what}, so PayGo's contracts cannot be deployed "
            f"at their canonical addresses here. It is installed by sending "
            f"{PROXY_DEPLOYER_FUNDING / 10**18:g} ETH to {PROXY_DEPLOYER} and broadcasting its presigned "
            "transaction (github.com/Arachnid/deterministic-deployment-proxy)."
        )
