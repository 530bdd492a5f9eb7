"""The addresses the app ships: PayGo's contracts at one address on every EVM chain.

Each contract version is deployed with CREATE2 through the deterministic-deployment proxy (Nick Johnson's
``0x4e59b448…4956C``, on Base, Base Sepolia and most chains, and on anvil from genesis), with fixed
constructor arguments and a fixed salt. Its address is then ``keccak256(0xff ++ proxy ++ salt ++
keccak256(init code))[12:]`` on every chain: a constant, derived in ``chain.create2`` and checked against the
committed artifacts by ``tests/networks/test_canonical.py``. A new contract version (any change of the
bytecode) gets a new address, and a new entry here.

Only constants: the app's context reads them before web3 is loaded.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The deterministic-deployment proxy: ``salt (32 bytes) ++ init code`` in, CREATE2, the address out.
PROXY = "0x4e59b44847b379578588920cA78FbF26c0B4956C"

#: The salt of every PayGo contract deployed through the proxy.
SALT = bytes(32)

#: PayGoVault v1's MIN_WITHDRAW_DELAY (its one constructor argument), in seconds, on every chain.
#: Small on purpose: a provider refuses channels whose delay is shorter than its own minimum (the time it
#: needs to see a withdrawal request and get its claim mined: 65 s by default) and says so in
#: ``GET /provider`` (``minWithdrawDelay``); the app opens channels at the larger of the two. So the vault's
#: own floor only has to hold for a provider that checks nothing, and it must stay short enough for the
#: sandbox and the tests, where a withdrawal completes after a few seconds of (simulated) time.
VAULT_MIN_WITHDRAW_DELAY = 15
#: PayGoVault.MAX_WITHDRAW_DELAY: no channel may ask for a longer delay (the vault refuses to fund it).
MAX_WITHDRAW_DELAY = 30 * 24 * 3600


@dataclass(frozen=True)
class CanonicalContract:
    name: str  # the artifact
    version: str
    address: str
    constructor_types: tuple[str, ...] = ()
    constructor_args: tuple[int | str, ...] = ()


VAULT = CanonicalContract(
    name="PayGoVault",
    version="1",
    address="0x077c5F739303dF3F081fdA77a4f678550880e049",
    constructor_types=("uint64",),
    constructor_args=(VAULT_MIN_WITHDRAW_DELAY,),
)
REGISTRY = CanonicalContract(
    name="PayGoRegistry",
    version="1",
    address="0x7C17372B995205db039005addCAB5e6E0a327bd5",
)
#: Fixed-price jobs (docs/contract.md, Fixed-price jobs): no constructor argument, nothing to configure.
JOBS = CanonicalContract(
    name="PayGoJobs",
    version="1",
    address="0xAB45d1F82971D11aeA02637D5183b20A372d1dd5",
)
CANONICAL_CONTRACTS = (VAULT, REGISTRY, JOBS)
