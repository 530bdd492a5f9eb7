"""Adversarial PayGoVault tests: replay, stale vouchers, caps, wrong signers, hostile tokens/contracts, and a
provider acting alone trying every way to take more than the channel's signer signed."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from eth_account import Account
from eth_utils import keccak

from paygo_desktop.chain.deploy import deploy_vault
from paygo_desktop.chain.vault import Claimed, Closed, RevertError, VaultClient
from paygo_desktop.chain.vouchers import (
    ZERO_ADDRESS,
    Channel,
    recover_voucher_signer,
    sign_close,
    sign_voucher,
    verify_voucher,
    voucher_typed_data,
)

if TYPE_CHECKING:
    from tests.chain.conftest import Env

# anvil's well-known first dev account (public test key, unlocked on every anvil)
ANVIL_KEY0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"


def test_voucher_replay_other_chain_or_vault_rejected(env: Env) -> None:
    v = env.vault
    ch = env.channel()
    env.run(v.fund(env.payer, ch, 10**6))
    other_chain = sign_voucher(env.payer, env.domain(chain_id=1), ch, 500)
    env.expect_revert(v.claim(env.provider, ch, 500, other_chain), "InvalidSignature")
    vault2 = VaultClient(env.w3, env.contracts["vault2"])
    env.run(vault2.fund(env.payer, ch, 10**6))
    for_vault2 = sign_voucher(env.payer, env.domain(vault=vault2.address), ch, 500)
    env.expect_revert(v.claim(env.provider, ch, 500, for_vault2), "InvalidSignature")
    for_vault1 = sign_voucher(env.payer, env.domain(), ch, 500)
    env.expect_revert(vault2.claim(env.provider, ch, 500, for_vault1), "InvalidSignature")
    # and each works on its own vault
    assert env.run(vault2.claim(env.provider, ch, 500, for_vault2)).of_type(Claimed)[0].amount == 500
    assert env.run(v.claim(env.provider, ch, 500, for_vault1)).of_type(Claimed)[0].amount == 500
    # python verifier agrees
    assert not verify_voucher(env.domain(), ch, 500, other_chain)
    assert verify_voucher(env.domain(), ch, 500, for_vault1)


def test_stale_voucher_is_noop_and_claimed_never_decreases(env: Env) -> None:
    v = env.vault
    ch = env.channel()
    env.run(v.fund(env.payer, ch, 1000))
    s500 = sign_voucher(env.payer, env.domain(), ch, 500)
    s300 = sign_voucher(env.payer, env.domain(), ch, 300)
    env.run(v.claim(env.provider, ch, 500, s500))
    before = env.eth(env.provider.address)
    for amount, sig in ((300, s300), (500, s500)):
        tx = env.run(v.claim(env.stranger, ch, amount, sig))  # no revert
        assert tx.events == []
    assert env.eth(env.provider.address) == before
    assert env.run(v.channel_state(ch)).claimed == 500


def test_never_more_than_signed_or_escrowed(env: Env) -> None:
    v = env.vault
    ch = env.channel(token=env.usdc)
    env.run(v.fund(env.payer, ch, 1000))
    s500 = sign_voucher(env.payer, env.domain(), ch, 500)
    env.expect_revert(v.claim(env.provider, ch, 501, s500), "InvalidSignature")
    s5000 = sign_voucher(env.payer, env.domain(), ch, 5000)
    tx = env.run(v.claim(env.provider, ch, 5000, s5000))
    assert tx.of_type(Claimed)[0].amount == 1000  # capped by escrow
    assert env.run(v.available(ch)) == 0
    # a top-up lets the same cumulative voucher pay the rest, never beyond what was signed
    env.run(v.fund(env.payer2, ch, 10_000))  # anyone may fund
    tx = env.run(v.claim(env.provider, ch, 5000, s5000))
    assert tx.of_type(Claimed)[0].amount == 4000
    assert env.run(v.channel_state(ch)).claimed == 5000
    assert env.run(v.available(ch)) == 6000


def test_wrong_signer_rejected_and_delegate_signer(env: Env) -> None:
    v = env.vault
    session_key = Account.from_key(keccak(text="session-key"))
    ch = env.channel()
    delegated = env.channel(signer=session_key.address, salt=keccak(text="delegated"))
    for c in (ch, delegated):
        env.run(v.fund(env.payer, c, 1000))
    env.expect_revert(
        v.claim(env.provider, ch, 10, sign_voucher(env.stranger, env.domain(), ch, 10)), "InvalidSignature"
    )
    env.expect_revert(v.claim(env.provider, ch, 10, b"\x01" * 65), "InvalidSignature")
    env.expect_revert(v.claim(env.provider, ch, 10, b""), "InvalidSignature")
    # explicit signer: only the session key may sign, not the payer
    env.expect_revert(
        v.claim(env.provider, delegated, 10, sign_voucher(env.payer, env.domain(), delegated, 10)),
        "InvalidSignature",
    )
    sig = sign_voucher(session_key, env.domain(), delegated, 10)
    assert verify_voucher(env.domain(), delegated, 10, sig)
    assert env.run(v.claim(env.provider, delegated, 10, sig)).of_type(Claimed)[0].amount == 10
    # a channel id is bound to all parameters: the delegated voucher does not work on the payer channel
    env.expect_revert(v.claim(env.provider, ch, 10, sig), "InvalidSignature")


def test_high_s_signature_rejected_everywhere(env: Env) -> None:
    n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    ch = env.channel()
    env.run(env.vault.fund(env.payer, ch, 1000))
    sig = sign_voucher(env.payer, env.domain(), ch, 10)
    s = int.from_bytes(sig[32:64], "big")
    malleable = sig[:32] + (n - s).to_bytes(32, "big") + bytes([55 - sig[64]])
    assert recover_voucher_signer(env.domain(), ch, 10, malleable) is None
    env.expect_revert(env.vault.claim(env.provider, ch, 10, malleable), "InvalidSignature")


def test_fund_validation(env: Env) -> None:
    v = env.vault
    short = env.channel(withdraw_delay=env.min_delay - 1)
    env.expect_revert(v.fund(env.payer, short, 1), "WithdrawDelayTooShort")
    ch = env.channel()
    env.expect_revert(v.fund(env.payer, ch, 0), "ZeroAmount")
    fn = v.contract.functions.fund(ch.as_tuple(), 100)
    env.expect_revert(fn.estimate_gas({"from": env.payer.address, "value": 99}), "WrongValue")
    erc = env.channel(token=env.usdc)
    fn = v.contract.functions.fund(erc.as_tuple(), 100)
    env.expect_revert(fn.estimate_gas({"from": env.payer.address, "value": 1}), "WrongValue")
    no_provider = Channel(payer=env.payer.address, provider=ZERO_ADDRESS, withdraw_delay=env.min_delay)
    env.expect_revert(v.fund(env.payer, no_provider, 1), "InvalidChannel")


def test_withdraw_rules(env: Env) -> None:
    v = env.vault
    ch = env.channel()
    env.run(v.fund(env.payer, ch, 1000))
    env.expect_revert(v.request_withdraw(env.provider, ch, 100), "NotPayer")
    env.expect_revert(v.finalize_withdraw(env.payer, ch), "NoPendingWithdraw")
    env.run(v.request_withdraw(env.payer, ch, 100))
    env.advance(env.min_delay - 3)
    env.expect_revert(v.finalize_withdraw(env.payer, ch), "WithdrawNotReady")
    env.run(v.request_withdraw(env.payer, ch, 0))  # cancel
    env.advance(10)
    env.expect_revert(v.finalize_withdraw(env.payer, ch), "NoPendingWithdraw")
    # a withdrawal request does not stop the provider; finalize pays only what is left
    env.run(v.request_withdraw(env.payer, ch, 1000))
    env.run(v.claim(env.provider, ch, 700, sign_voucher(env.payer, env.domain(), ch, 700)))
    env.advance(env.min_delay)
    before = env.eth(env.payer.address)
    tx = env.run(v.finalize_withdraw(env.provider, ch))
    assert tx.events[0].amount == 300
    assert env.eth(env.payer.address) - before == 300
    assert env.eth(v.address) == 0


def test_fee_on_transfer_token_rejected(env: Env) -> None:
    fee = env.deploy("FeeOnTransferToken")
    tok = env.token(fee, "FeeOnTransferToken")
    env.transact(tok.functions.mint(env.payer.address, 10**9))
    env.run(env.vault.approve_token(env.payer, fee, 10**9))
    ch = env.channel(token=fee)
    env.expect_revert(env.vault.fund(env.payer, ch, 10_000), "FeeOnTransferNotSupported")


def test_reentrant_token_cannot_reenter(env: Env) -> None:
    v = env.vault
    addr = env.deploy("ReentrantToken")
    tok = env.token(addr, "ReentrantToken")
    env.transact(tok.functions.mint(env.payer.address, 10**9))
    env.run(v.approve_token(env.payer, addr, 10**9))
    ch = env.channel(token=addr)
    env.run(v.fund(env.payer, ch, 1000))
    # during the claim payout the token re-enters claim with a larger voucher
    s400 = sign_voucher(env.payer, env.domain(), ch, 400)
    s900 = sign_voucher(env.payer, env.domain(), ch, 900)
    payload = v.contract.encode_abi("claim", args=[ch.as_tuple(), 900, s900])
    env.transact(tok.functions.arm(v.address, payload))
    env.run(v.claim(env.provider, ch, 400, s400))
    assert env.run(tok.functions.attempted().call()) is True
    assert env.run(tok.functions.reentrySucceeded().call()) is False
    assert env.run(v.channel_state(ch)).claimed == 400
    assert env.usdc_balance(env.provider.address) >= 0  # unrelated token untouched
    assert int(env.run(tok.functions.balanceOf(env.provider.address).call())) == 400
    # re-entering fund / finalize from inside fund's transferFrom is blocked too
    payload = v.contract.encode_abi("finalizeWithdraw", args=[ch.as_tuple()])
    env.transact(tok.functions.arm(v.address, payload))
    env.run(v.fund(env.payer, ch, 10))
    assert env.run(tok.functions.reentrySucceeded().call()) is False
    assert int(env.run(tok.functions.balanceOf(v.address).call())) == 610


def test_reentrant_provider_cannot_double_claim(env: Env) -> None:
    v = env.vault
    prov = env.deploy("ReentrantProvider")
    pc = env.token(prov, "ReentrantProvider")
    ch = Channel(payer=env.payer.address, provider=prov, withdraw_delay=env.min_delay)
    env.run(v.fund(env.payer, ch, 1000))
    s300 = sign_voucher(env.payer, env.domain(), ch, 300)
    s1000 = sign_voucher(env.payer, env.domain(), ch, 1000)
    env.transact(
        pc.functions.arm(v.address, v.contract.encode_abi("claim", args=[ch.as_tuple(), 1000, s1000]))
    )
    env.run(v.claim(env.stranger, ch, 300, s300))
    assert env.run(pc.functions.attempted().call()) is True
    assert env.run(pc.functions.reentrySucceeded().call()) is False
    assert env.eth(prov) == 300
    assert env.eth(v.address) == 700
    assert env.run(v.channel_state(ch)).claimed == 300


def test_erc1271_wallet_payer(env: Env) -> None:
    v = env.vault
    owner = env.payer2
    wallet = env.deploy("ERC1271Wallet", owner.address)
    ch = Channel(payer=wallet, provider=env.provider.address, withdraw_delay=env.min_delay)
    env.run(v.fund(env.stranger, ch, 1000))  # anyone may fund a contract wallet's channel
    sig = sign_voucher(owner, env.domain(), ch, 250)
    assert not verify_voucher(env.domain(), ch, 250, sig)  # offline ECDSA check cannot know the wallet
    assert env.run(v.voucher_is_valid(ch, 250, sig)) is True
    bad = sign_voucher(env.stranger, env.domain(), ch, 250)
    assert env.run(v.voucher_is_valid(ch, 250, bad)) is False
    env.expect_revert(v.claim(env.provider, ch, 250, bad), "InvalidSignature")
    assert env.run(v.claim(env.provider, ch, 250, sig)).of_type(Claimed)[0].amount == 250
    # a close needs the wallet's approval of the voucher for the final amount too (ERC-1271)
    deadline = env.chain_time() + 600
    env.expect_revert(_close(env, ch, 400, deadline, bad), "InvalidSignature")
    (closed,) = env.run(_close(env, ch, 400, deadline, sign_voucher(owner, env.domain(), ch, 400))).of_type(
        Closed
    )
    assert (closed.provider_amount, closed.refund) == (150, 600)
    assert env.eth(wallet) == 600  # the refund goes to the wallet, the channel's payer


def test_eth_sign_typed_data_v4_matches_python(env: Env) -> None:
    v = env.vault
    signer = Account.from_key(ANVIL_KEY0)
    assert signer.address == env.deployer.lower() or signer.address.lower() == env.deployer.lower()
    ch = Channel(payer=signer.address, provider=env.provider.address, withdraw_delay=env.min_delay)
    env.run(v.fund(env.deployer, ch, 10**15))
    typed = voucher_typed_data(env.domain(), ch, 123_456_789)
    node_sig = bytes.fromhex(env.rpc("eth_signTypedData_v4", [env.deployer, json.dumps(typed)])[2:])
    py_sig = sign_voucher(signer, env.domain(), ch, 123_456_789)
    assert node_sig == py_sig
    assert verify_voucher(env.domain(), ch, 123_456_789, node_sig)
    assert env.run(v.claim(env.provider, ch, 123_456_789, node_sig)).of_type(Claimed)[0].amount == 123_456_789


def test_claim_batch_mixed(env: Env) -> None:
    v = env.vault
    items = []
    providers = [env.provider, env.provider, env.provider2, env.provider]
    for i, prov in enumerate(providers):
        ch = env.channel(provider=prov, salt=keccak(text=f"b{i}"))
        env.run(v.fund(env.payer, ch, 1000))
        items.append((ch, 100 * (i + 1), sign_voucher(env.payer, env.domain(), ch, 100 * (i + 1))))
    env.run(v.claim(env.provider, items[0][0], 100, items[0][2]))  # first one becomes stale
    p1, p2 = env.eth(env.provider.address), env.eth(env.provider2.address)
    tx = env.run(v.claim_batch(env.stranger, items))
    assert [e.amount for e in tx.of_type(Claimed)] == [200, 300, 400]
    assert env.eth(env.provider.address) - p1 == 600
    assert env.eth(env.provider2.address) - p2 == 300
    # a bad signature anywhere reverts the whole batch
    bad = [*items, (items[1][0], 999, items[1][2])]
    env.expect_revert(v.claim_batch(env.stranger, bad), "InvalidSignature")


# ------------------------------------------------------------------------------------------------------
# A provider acting alone: every way to take more than the channel's signer signed fails.


def _close(
    env: Env, ch: Channel, final: int, deadline: int, signer_sig: bytes, gas: int | None = None
) -> Any:
    """closeCooperative sent by the provider itself, with its own Close and ``signer_sig``."""
    provider_sig = sign_close(env.provider, env.domain(), ch, final, deadline)
    return env.vault.close_cooperative(env.provider, ch, final, deadline, signer_sig, provider_sig, gas=gas)


def test_provider_alone_cannot_close_for_any_amount(env: Env) -> None:
    """The review's attack: 10 ETH deposited, a 1 ETH voucher claimed, then the provider signs a Close for
    2**128 - 1 and submits it. Without the signer's voucher for that amount it gets nothing more."""
    v = env.vault
    ch = env.channel()
    env.run(v.fund(env.payer, ch, 10 * 10**18))
    one = sign_voucher(env.payer, env.domain(), ch, 10**18)
    env.run(v.claim(env.provider, ch, 10**18, one))
    deadline = env.chain_time() + 600
    everything = 2**128 - 1
    forged = [
        b"",  # no signer signature at all
        sign_voucher(env.provider, env.domain(), ch, everything),  # the provider signs the voucher itself
        one,  # a real voucher of the signer, for another amount
        sign_voucher(env.payer, env.domain(), env.channel(salt=b"\x07" * 32), everything),  # another channel
        b"\x01" * 65,
    ]
    for amount in (everything, 10 * 10**18, 10**18 + 1):
        for signer_sig in forged:
            env.expect_revert(_close(env, ch, amount, deadline, signer_sig), "InvalidSignature")
    assert env.run(v.available(ch)) == 9 * 10**18
    assert env.run(v.channel_state(ch)).closed is False
    # the provider's own Close with the voucher it really holds settles at that voucher, no more
    payer0 = env.eth(env.payer.address)
    tx = env.run(_close(env, ch, 10**18, deadline, one))
    (closed,) = tx.of_type(Closed)
    assert (closed.provider_amount, closed.refund) == (0, 9 * 10**18)
    assert env.eth(env.payer.address) - payer0 == 9 * 10**18


def test_provider_close_above_every_signed_voucher_fails(env: Env) -> None:
    v = env.vault
    ch = env.channel(token=env.usdc)
    env.run(v.fund(env.payer, ch, 10_000))
    vouchers = {a: sign_voucher(env.payer, env.domain(), ch, a) for a in (100, 200, 300)}
    env.run(v.claim(env.provider, ch, 100, vouchers[100]))
    deadline = env.chain_time() + 600
    for held in vouchers.values():  # each real voucher, under a Close for more than was ever signed
        env.expect_revert(_close(env, ch, 301, deadline, held), "InvalidSignature")
        env.expect_revert(_close(env, ch, 10_000, deadline, held), "InvalidSignature")
    provider0 = env.usdc_balance(env.provider.address)
    tx = env.run(_close(env, ch, 300, deadline, vouchers[300]))  # the highest signed: allowed, and the cap
    assert tx.of_type(Closed)[0].provider_amount == 200
    assert env.usdc_balance(env.provider.address) - provider0 == 200
    assert env.run(v.channel_state(ch)).claimed == 300


def test_payer_alone_cannot_close_either(env: Env) -> None:
    """The provider's Close protects the provider: a payer cannot settle below the vouchers it gave."""
    v = env.vault
    ch = env.channel()
    env.run(v.fund(env.payer, ch, 1000))
    deadline = env.chain_time() + 600
    zero = sign_voucher(env.payer, env.domain(), ch, 0)
    for forger in (env.payer, env.stranger, env.provider2):
        forged = sign_close(forger, env.domain(), ch, 0, deadline)
        env.expect_revert(v.close_cooperative(env.payer, ch, 0, deadline, zero, forged), "InvalidSignature")
    assert env.run(v.available(ch)) == 1000


def test_close_needs_the_delegated_signer_not_the_payer(env: Env) -> None:
    v = env.vault
    session_key = Account.from_key(keccak(text="close-session-key"))
    ch = env.channel(signer=session_key.address)
    env.run(v.fund(env.payer, ch, 1000))
    deadline = env.chain_time() + 600
    by_payer = sign_voucher(env.payer, env.domain(), ch, 400)
    env.expect_revert(_close(env, ch, 400, deadline, by_payer), "InvalidSignature")
    tx = env.run(_close(env, ch, 400, deadline, sign_voucher(session_key, env.domain(), ch, 400)))
    assert (tx.of_type(Closed)[0].provider_amount, tx.of_type(Closed)[0].refund) == (400, 600)


def test_close_replays_are_refused(env: Env) -> None:
    v = env.vault
    ch = env.channel()
    env.run(v.fund(env.payer, ch, 1000))
    deadline = env.chain_time() + 600
    signer_sig = sign_voucher(env.payer, env.domain(), ch, 100)
    env.run(_close(env, ch, 100, deadline, signer_sig))
    env.expect_revert(_close(env, ch, 100, deadline, signer_sig), "ChannelClosed")  # the same close again
    later = sign_voucher(env.payer, env.domain(), ch, 900)  # a voucher the provider got later
    env.expect_revert(_close(env, ch, 900, deadline + 1, later), "ChannelClosed")
    assert env.run(v.channel_state(ch)).claimed == 100
    assert env.eth(v.address) == 0


def test_a_top_up_neither_blocks_a_close_nor_reaches_the_provider(env: Env) -> None:
    """Anyone may top up, even by 1 wei, before the close: the agreed Close still goes through (nothing
    like the old close nonce to bump) and the top-up goes back to the payer, not to the provider."""
    v = env.vault
    ch = env.channel(token=env.usdc)
    env.run(v.fund(env.payer, ch, 1000))
    deadline = env.chain_time() + 600
    signer_sig = sign_voucher(env.payer, env.domain(), ch, 300)
    provider_sig = sign_close(env.provider, env.domain(), ch, 300, deadline)
    env.run(v.fund(env.stranger, ch, 1))  # the 1-wei top-up that blocked a close before
    env.run(v.fund(env.payer2, ch, 5000))  # and a large one
    payer0, provider0 = env.usdc_balance(env.payer.address), env.usdc_balance(env.provider.address)
    tx = env.run(v.close_cooperative(env.stranger, ch, 300, deadline, signer_sig, provider_sig))
    assert (tx.of_type(Closed)[0].provider_amount, tx.of_type(Closed)[0].refund) == (300, 5701)
    assert env.usdc_balance(env.provider.address) - provider0 == 300
    assert env.usdc_balance(env.payer.address) - payer0 == 5701


def test_an_old_voucher_cannot_reach_past_the_close(env: Env) -> None:
    """A voucher signed before the close, one tick above the final amount, pays nothing after it: the
    channel holds nothing and can never be funded again."""
    v = env.vault
    ch = env.channel()
    env.run(v.fund(env.payer, ch, 1000))
    ahead = sign_voucher(env.payer, env.domain(), ch, 600)  # signed one tick ahead
    deadline = env.chain_time() + 600
    env.run(_close(env, ch, 500, deadline, sign_voucher(env.payer, env.domain(), ch, 500)))
    env.expect_revert(v.fund(env.payer, ch, 1000), "ChannelClosed")
    env.expect_revert(v.fund(env.stranger, ch, 1), "ChannelClosed")
    provider0 = env.eth(env.provider.address)
    assert env.run(v.claim(env.stranger, ch, 600, ahead)).of_type(Claimed) == []
    assert env.eth(env.provider.address) == provider0
    assert env.run(v.channel_state(ch)).claimed == 500


def test_claim_batch_duplicates_pay_once(env: Env) -> None:
    v = env.vault
    a, b = env.channel(salt=b"\x0a" * 32), env.channel(salt=b"\x0b" * 32)
    for ch in (a, b):
        env.run(v.fund(env.payer, ch, 1000))
    sa = {n: sign_voucher(env.payer, env.domain(), a, n) for n in (300, 500)}
    sb = sign_voucher(env.payer, env.domain(), b, 200)
    provider0 = env.eth(env.provider.address)
    items = [
        (a, 300, sa[300]),
        (a, 300, sa[300]),
        (b, 200, sb),
        (a, 500, sa[500]),
        (a, 300, sa[300]),
        (b, 200, sb),
    ]
    tx = env.run(v.claim_batch(env.stranger, items))
    assert [(e.channel_id, e.amount) for e in tx.of_type(Claimed)] == [(a.id, 300), (b.id, 200), (a.id, 200)]
    assert env.eth(env.provider.address) - provider0 == 700
    assert (env.run(v.channel_state(a)).claimed, env.run(v.channel_state(b)).claimed) == (500, 200)
    # the whole batch again pays nothing
    assert env.run(v.claim_batch(env.stranger, items)).of_type(Claimed) == []
    # an entry above what was signed voids the whole batch
    forged = sign_voucher(env.provider, env.domain(), a, 900)
    env.expect_revert(v.claim_batch(env.provider, [(b, 200, sb), (a, 900, forged)]), "InvalidSignature")


def test_expired_close_refused_and_deadline_inclusive(env: Env) -> None:
    v = env.vault
    ch = env.channel()
    env.run(v.fund(env.payer, ch, 1000))
    now = env.chain_time()
    signer_sig = sign_voucher(env.payer, env.domain(), ch, 100)
    env.expect_revert(_close(env, ch, 100, now - 1, signer_sig), "CloseExpired")
    deadline = now + 30
    env.advance(31)  # the Close was valid when signed; it is not any more
    env.expect_revert(_close(env, ch, 100, deadline, signer_sig), "CloseExpired")
    assert env.run(v.available(ch)) == 1000
    later = env.chain_time() + 30
    env.rpc("evm_setNextBlockTimestamp", [later])
    tx = env.run(_close(env, ch, 100, later, signer_sig, gas=300_000))  # mined at the deadline: still valid
    assert tx.of_type(Closed)[0].provider_amount == 100


def test_withdraw_delay_bounded_to_thirty_days(env: Env) -> None:
    v = env.vault
    month = 30 * 24 * 3600
    for delay in (
        month + 1,
        2**64 - 1,
    ):  # 2**64 - 1 made block.timestamp + delay overflow: never withdrawable
        env.expect_revert(v.fund(env.payer, env.channel(withdraw_delay=delay), 1000), "WithdrawDelayTooLong")
    ok = env.channel(withdraw_delay=month)
    env.run(v.fund(env.payer, ok, 1000))
    env.run(v.request_withdraw(env.payer, ok, 1000))
    env.advance(month)
    assert env.run(v.finalize_withdraw(env.payer, ok)).events[0].amount == 1000
    # and a vault cannot be deployed with a minimum above the bound
    with pytest.raises(RevertError):
        env.run(deploy_vault(env.w3, env.deployer, month + 1))
