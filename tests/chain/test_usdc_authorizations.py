"""The sandbox's test USDC takes signed payments as Circle's USDC does: EIP-3009 transfer/receive with
authorization and EIP-2612 permit, under USDC's EIP-712 domain ("USDC", "2" as on Base Sepolia). x402's
`exact` scheme pays with these, so a replayed, expired or forged authorization must move nothing.

Signatures are made here with eth-account from the standard's type definitions (not with the contract's
or the x402 SDK's helpers), so a wrong type hash or domain in the contract fails these tests."""

from __future__ import annotations

import os
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from x402.mechanisms.evm.default_assets import DEFAULT_ASSETS

from tests.chain.conftest import Env

AUTH_FIELDS = [
    {"name": "from", "type": "address"},
    {"name": "to", "type": "address"},
    {"name": "value", "type": "uint256"},
    {"name": "validAfter", "type": "uint256"},
    {"name": "validBefore", "type": "uint256"},
    {"name": "nonce", "type": "bytes32"},
]
PERMIT_FIELDS = [
    {"name": "owner", "type": "address"},
    {"name": "spender", "type": "address"},
    {"name": "value", "type": "uint256"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]


def _domain(env: Env) -> dict[str, Any]:
    return {"name": "USDC", "version": "2", "chainId": env.chain_id, "verifyingContract": env.usdc}


def _sign(env: Env, signer: LocalAccount, primary: str, fields: list[dict[str, str]], msg: dict) -> Any:
    signed = Account.sign_typed_data(signer.key, _domain(env), {primary: fields}, msg)
    return signed.v, signed.r.to_bytes(32, "big"), signed.s.to_bytes(32, "big")


def _authorization(env: Env, to: str, value: int, *, valid_before: int | None = None) -> dict[str, Any]:
    return {
        "from": env.payer.address,
        "to": to,
        "value": value,
        "validAfter": 0,
        "validBefore": valid_before if valid_before is not None else env.chain_time() + 3600,
        "nonce": os.urandom(32),
    }


def _args(msg: dict[str, Any]) -> list[Any]:
    return [msg["from"], msg["to"], msg["value"], msg["validAfter"], msg["validBefore"], msg["nonce"]]


def test_domain_is_base_sepolia_usdc_as_the_x402_sdk_knows_it(env: Env) -> None:
    sdk = DEFAULT_ASSETS["eip155:84532"][0]
    domain = env.run(env.token(env.usdc).functions.eip712Domain().call())
    assert (domain[1], domain[2]) == (sdk["name"], sdk["version"]) == ("USDC", "2")
    assert domain[3] == env.chain_id and domain[4] == env.usdc
    assert env.run(env.token(env.usdc).functions.name().call()) == "USDC"
    assert env.run(env.token(env.usdc).functions.decimals().call()) == 6


def test_transfer_with_authorization_moves_once_and_a_replay_is_refused(env: Env) -> None:
    token = env.token(env.usdc)
    msg = _authorization(env, env.provider.address, 1_500_000)
    v, r, s = _sign(env, env.payer, "TransferWithAuthorization", AUTH_FIELDS, msg)
    before = (env.usdc_balance(env.payer.address), env.usdc_balance(env.provider.address))
    # anyone may submit it (here the stranger pays the gas)
    env.transact(token.functions.transferWithAuthorization(*_args(msg), v, r, s), env.stranger)
    assert env.usdc_balance(env.payer.address) == before[0] - 1_500_000
    assert env.usdc_balance(env.provider.address) == before[1] + 1_500_000
    assert env.run(token.functions.authorizationState(env.payer.address, msg["nonce"]).call()) is True
    with pytest.raises(Exception, match="authorization is used or canceled"):
        env.transact(token.functions.transferWithAuthorization(*_args(msg), v, r, s), env.stranger)
    assert env.usdc_balance(env.provider.address) == before[1] + 1_500_000


def test_expired_authorization_is_refused(env: Env) -> None:
    token = env.token(env.usdc)
    msg = _authorization(env, env.provider.address, 1_000, valid_before=env.chain_time() - 1)
    v, r, s = _sign(env, env.payer, "TransferWithAuthorization", AUTH_FIELDS, msg)
    before = env.usdc_balance(env.payer.address)
    with pytest.raises(Exception, match="authorization is expired"):
        env.transact(token.functions.transferWithAuthorization(*_args(msg), v, r, s), env.stranger)
    assert env.usdc_balance(env.payer.address) == before


def test_authorization_signed_by_someone_else_or_altered_is_refused(env: Env) -> None:
    token = env.token(env.usdc)
    msg = _authorization(env, env.stranger.address, 1_000)
    v, r, s = _sign(env, env.stranger, "TransferWithAuthorization", AUTH_FIELDS, msg)  # not the payer
    before = env.usdc_balance(env.payer.address)
    with pytest.raises(Exception, match="invalid signature"):
        env.transact(token.functions.transferWithAuthorization(*_args(msg), v, r, s), env.stranger)
    v, r, s = _sign(env, env.payer, "TransferWithAuthorization", AUTH_FIELDS, msg)
    altered = _args(msg)
    altered[2] = 2_000  # the amount raised after signing
    with pytest.raises(Exception, match="invalid signature"):
        env.transact(token.functions.transferWithAuthorization(*altered, v, r, s), env.stranger)
    assert env.usdc_balance(env.payer.address) == before


def test_receive_with_authorization_only_by_the_payee(env: Env) -> None:
    token = env.token(env.usdc)
    msg = _authorization(env, env.provider.address, 7_000)
    v, r, s = _sign(env, env.payer, "ReceiveWithAuthorization", AUTH_FIELDS, msg)
    with pytest.raises(Exception, match="caller must be the payee"):
        env.transact(token.functions.receiveWithAuthorization(*_args(msg), v, r, s), env.stranger)
    before = env.usdc_balance(env.provider.address)
    env.transact(token.functions.receiveWithAuthorization(*_args(msg), v, r, s), env.provider)
    assert env.usdc_balance(env.provider.address) == before + 7_000
    # a ReceiveWithAuthorization signature is not a TransferWithAuthorization one
    msg2 = _authorization(env, env.provider.address, 7_000)
    v, r, s = _sign(env, env.payer, "ReceiveWithAuthorization", AUTH_FIELDS, msg2)
    with pytest.raises(Exception, match="invalid signature"):
        env.transact(token.functions.transferWithAuthorization(*_args(msg2), v, r, s), env.provider)


def test_permit_sets_allowance_once(env: Env) -> None:
    token = env.token(env.usdc)
    nonce = env.run(token.functions.nonces(env.payer.address).call())
    msg = {
        "owner": env.payer.address,
        "spender": env.stranger.address,
        "value": 123_456,
        "nonce": nonce,
        "deadline": env.chain_time() + 3600,
    }
    v, r, s = _sign(env, env.payer, "Permit", PERMIT_FIELDS, msg)
    args = [msg["owner"], msg["spender"], msg["value"], msg["deadline"], v, r, s]
    env.transact(token.functions.permit(*args), env.stranger)
    assert env.run(token.functions.allowance(env.payer.address, env.stranger.address).call()) == 123_456
    assert env.run(token.functions.nonces(env.payer.address).call()) == nonce + 1
    with pytest.raises(Exception, match="invalid signature"):  # the nonce moved on: a replay is refused
        env.transact(token.functions.permit(*args), env.stranger)
    expired = dict(msg, nonce=nonce + 1, deadline=env.chain_time() - 1)
    v, r, s = _sign(env, env.payer, "Permit", PERMIT_FIELDS, expired)
    with pytest.raises(Exception, match="permit is expired"):
        env.transact(
            token.functions.permit(msg["owner"], msg["spender"], 1, expired["deadline"], v, r, s),
            env.stranger,
        )
