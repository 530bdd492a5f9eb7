"""The sandbox's Permit2 and x402 upto proxy (resources/contracts/testing/SandboxPermit2.sol,
SandboxUptoPermit2Proxy.sol) at the canonical addresses on anvil, driven with authorizations the official
x402 SDK's upto client signed: the facilitator named in the witness settles up to the signed maximum, never
more, once; nobody else settles; a payer without an allowance to Permit2 pays nothing."""

from __future__ import annotations

from typing import Any

import pytest
from eth_abi import encode
from eth_utils import keccak, to_checksum_address

from paygo_desktop.chain.abi_signatures import error_selectors
from paygo_desktop.chain.artifacts import load_artifact
from paygo_desktop.chain.sandbox_permit2 import PERMIT2, UPTO_PROXY
from paygo_desktop.chain.vault import RevertError
from tests.x402_pay.conftest import Env

MAX = 50_000  # the signed maximum, 0.05 USDC


def _errors() -> dict[bytes, str]:
    return {
        **error_selectors(load_artifact("SandboxPermit2").abi),
        **error_selectors(load_artifact("SandboxUptoPermit2Proxy").abi),
    }


def _signed(env: Env, facilitator: str, amount: int = MAX) -> dict[str, Any]:
    """An upto authorization signed by the SDK's own client scheme: the payer to ``env.provider``."""
    from x402.mechanisms.evm.signers import EthAccountSigner
    from x402.mechanisms.evm.upto import UptoEvmClientScheme
    from x402.schemas import PaymentRequirements

    requirements = PaymentRequirements(
        scheme="upto",
        network=f"eip155:{env.chain_id}",
        asset=env.usdc,
        amount=str(amount),
        pay_to=env.provider.address,
        max_timeout_seconds=300,
        extra={"facilitatorAddress": facilitator, "assetTransferMethod": "permit2"},
    )
    return UptoEvmClientScheme(EthAccountSigner(env.payer)).create_payment_payload(requirements)


def _settle_call(env: Env, payload: dict[str, Any], amount: int) -> Any:
    auth = payload["permit2Authorization"]
    proxy = env.w3.eth.contract(address=UPTO_PROXY, abi=load_artifact("SandboxUptoPermit2Proxy").abi)
    permit = (
        (to_checksum_address(auth["permitted"]["token"]), int(auth["permitted"]["amount"])),
        int(auth["nonce"]),
        int(auth["deadline"]),
    )
    witness = (
        to_checksum_address(auth["witness"]["to"]),
        to_checksum_address(auth["witness"]["facilitator"]),
        int(auth["witness"]["validAfter"]),
    )
    return proxy.functions.settle(
        permit, amount, to_checksum_address(auth["from"]), witness, bytes.fromhex(payload["signature"][2:])
    )


def _reverts(env: Env, fn: Any, sender: Any, error: str) -> None:
    with pytest.raises(RevertError) as info:
        env.transact(fn, sender)
    data = getattr(info.value, "data", None)
    assert isinstance(data, str) and _errors().get(bytes.fromhex(data[2:10])) == error, repr(info.value)


def _approve(env: Env, amount: int) -> None:
    env.transact(env.token(env.usdc).functions.approve(PERMIT2, amount), env.payer)


def test_the_canonical_addresses_hold_the_sandbox_contracts(env: Env) -> None:
    assert env.rpc("eth_getCode", [PERMIT2, "latest"]) != "0x"
    permit2 = env.w3.eth.contract(address=PERMIT2, abi=load_artifact("SandboxPermit2").abi)
    domain = keccak(
        encode(
            ["bytes32", "bytes32", "uint256", "address"],
            [
                keccak(text="EIP712Domain(string name,uint256 chainId,address verifyingContract)"),
                keccak(text="Permit2"),
                env.chain_id,
                PERMIT2,
            ],
        )
    )  # computed from the canonical address: the copied code verifies there
    assert bytes(env.run(permit2.functions.DOMAIN_SEPARATOR().call())) == domain
    proxy = env.w3.eth.contract(address=UPTO_PROXY, abi=load_artifact("SandboxUptoPermit2Proxy").abi)
    assert env.run(proxy.functions.PERMIT2().call()) == PERMIT2


def test_the_facilitator_settles_up_to_the_maximum_once_and_never_more(env: Env) -> None:
    facilitator = env.provider2
    payload = _signed(env, facilitator.address)
    _approve(env, 10 * MAX)  # more than the maximum: the maximum, not the allowance, is what stops a settle
    payer_before = env.usdc_balance(env.payer.address)
    payee_before = env.usdc_balance(env.provider.address)

    _reverts(env, _settle_call(env, payload, MAX + 1), facilitator, "AmountExceedsPermitted")
    _reverts(env, _settle_call(env, payload, 20_000), env.stranger, "UnauthorizedFacilitator")
    assert env.usdc_balance(env.payer.address) == payer_before

    env.transact(_settle_call(env, payload, 20_000), facilitator)  # less than the maximum
    assert env.usdc_balance(env.payer.address) == payer_before - 20_000
    assert env.usdc_balance(env.provider.address) == payee_before + 20_000

    _reverts(env, _settle_call(env, payload, 1), facilitator, "InvalidNonce")  # an authorization pays once
    assert env.usdc_balance(env.payer.address) == payer_before - 20_000


def test_a_tampered_witness_or_a_missing_allowance_moves_nothing(env: Env) -> None:
    facilitator = env.provider2
    payload = _signed(env, facilitator.address)
    before = env.usdc_balance(env.payer.address)
    # no allowance to Permit2: the transfer fails inside Permit2
    with pytest.raises(RevertError):
        env.transact(_settle_call(env, payload, 10_000), facilitator)
    _approve(env, MAX)
    tampered = {
        **payload,
        "permit2Authorization": {
            **payload["permit2Authorization"],
            "witness": {**payload["permit2Authorization"]["witness"], "to": env.stranger.address},
        },
    }
    _reverts(env, _settle_call(env, tampered, 10_000), facilitator, "InvalidSignature")
    assert env.usdc_balance(env.payer.address) == before
