"""PayGoVault behaviour against a real anvil: funding, claims, withdrawals, cooperative close.

What a hostile party tries is in test_vault_security.py."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from eth_utils import keccak

from paygo_desktop.chain.vault import Claimed, Closed, Funded, Withdrawn, WithdrawRequested
from paygo_desktop.chain.vouchers import (
    VaultDomain,
    channel_id,
    close_digest,
    sign_close,
    sign_voucher,
    verify_voucher,
    voucher_digest,
)

if TYPE_CHECKING:
    from tests.chain.conftest import Env


def domain(env: Env) -> VaultDomain:
    return env.domain()


def test_views_match_python(env: Env) -> None:
    ch = env.channel(salt=keccak(text="views"))
    assert env.run(env.vault.channel_id(ch)) == channel_id(ch)
    assert env.run(env.vault.domain_separator()) == domain(env).separator
    assert env.run(env.vault.voucher_digest(ch.id, 12345)) == voucher_digest(domain(env), ch, 12345)
    assert env.run(env.vault.close_digest(ch.id, 777, 3)) == close_digest(domain(env), ch, 777, 3)
    assert env.run(env.vault.min_withdraw_delay()) == env.min_delay
    assert env.run(env.vault.max_withdraw_delay()) == 30 * 24 * 3600


@pytest.mark.parametrize("native", [True, False], ids=["eth", "erc20"])
def test_fund_claim_withdraw_roundtrip(env: Env, native: bool) -> None:
    v = env.vault
    token = "0x0000000000000000000000000000000000000000" if native else env.usdc
    ch = env.channel(token=token)
    bal = env.eth if native else env.usdc_balance

    tx = env.run(v.fund(env.payer, ch, 1_000_000))
    (funded,) = tx.of_type(Funded)
    assert (funded.channel_id, funded.amount, funded.deposited) == (ch.id, 1_000_000, 1_000_000)
    assert funded.payer == env.payer.address and funded.provider == env.provider.address
    assert bal(v.address) == 1_000_000

    p0 = bal(env.provider.address)
    sig = sign_voucher(env.payer, domain(env), ch, 300_000)
    assert verify_voucher(domain(env), ch, 300_000, sig)
    tx = env.run(v.claim(env.deployer, ch, 300_000, sig))  # anyone may submit
    (claimed,) = tx.of_type(Claimed)
    assert (claimed.amount, claimed.claimed) == (300_000, 300_000)
    assert bal(env.provider.address) - p0 == 300_000

    tx = env.run(v.request_withdraw(env.payer, ch, 500_000))
    (req,) = tx.of_type(WithdrawRequested)
    assert req.amount == 500_000
    state = env.run(v.channel_state(ch))
    assert state.pending_withdraw == 500_000 and state.withdraw_ready_at == req.ready_at

    # early finalize rejected
    env.expect_revert(v.finalize_withdraw(env.payer, ch), "WithdrawNotReady")
    # provider can still claim during the window
    sig2 = sign_voucher(env.payer, domain(env), ch, 600_000)
    env.run(v.claim(env.provider, ch, 600_000, sig2))
    env.advance(env.min_delay + 1)
    payer0 = bal(env.payer.address) if not native else None
    tx = env.run(v.finalize_withdraw(env.stranger, ch))  # anyone may finalize, funds go to payer
    (wd,) = tx.of_type(Withdrawn)
    assert wd.amount == 400_000  # capped at escrow - claimed
    if payer0 is not None:
        assert bal(env.payer.address) - payer0 == 400_000
    state = env.run(v.channel_state(ch))
    assert (state.deposited, state.claimed, state.withdrawn, state.pending_withdraw) == (
        1_000_000,
        600_000,
        400_000,
        0,
    )
    assert bal(v.address) == 0
    # later vouchers beyond escrow pay nothing
    sig3 = sign_voucher(env.payer, domain(env), ch, 900_000)
    tx = env.run(v.claim(env.provider, ch, 900_000, sig3))
    assert tx.of_type(Claimed) == []


def test_close_cooperative_settles_and_closes_the_channel_for_good(env: Env) -> None:
    v = env.vault
    ch = env.channel(token=env.usdc)
    env.run(v.fund(env.payer, ch, 1000))
    env.run(v.claim(env.provider, ch, 100, sign_voucher(env.payer, domain(env), ch, 100)))
    deadline = env.chain_time() + 600
    provider_sig = sign_close(env.provider, domain(env), ch, 250, deadline)
    signer_sig = sign_voucher(env.payer, domain(env), ch, 250)
    payer0, prov0 = env.usdc_balance(env.payer.address), env.usdc_balance(env.provider.address)
    tx = env.run(v.close_cooperative(env.stranger, ch, 250, deadline, signer_sig, provider_sig))  # anyone
    (closed,) = tx.of_type(Closed)
    assert (closed.channel_id, closed.provider_amount, closed.refund) == (ch.id, 150, 750)
    assert env.usdc_balance(env.provider.address) - prov0 == 150
    assert env.usdc_balance(env.payer.address) - payer0 == 750
    state = env.run(v.channel_state(ch))
    assert (state.deposited, state.claimed, state.withdrawn, state.closed) == (1000, 250, 750, True)
    assert env.run(v.available(ch)) == 0
    # final: no deposit, no second close, no withdrawal request; the payer opens the next channel instead
    env.expect_revert(v.fund(env.payer, ch, 500), "ChannelClosed")
    env.expect_revert(
        v.close_cooperative(env.payer, ch, 250, deadline, signer_sig, provider_sig), "ChannelClosed"
    )
    env.expect_revert(v.request_withdraw(env.payer, ch, 1), "ChannelClosed")
    env.expect_revert(v.finalize_withdraw(env.payer, ch), "NoPendingWithdraw")
    following = env.channel(token=env.usdc, salt=(1).to_bytes(32, "big"))
    env.run(v.fund(env.payer, following, 500))
    assert env.run(v.channel_state(following)).closed is False


def test_close_cancels_a_pending_withdrawal_and_refunds_everything_unclaimed(env: Env) -> None:
    v = env.vault
    ch = env.channel()
    env.run(v.fund(env.payer, ch, 1000))
    env.run(v.request_withdraw(env.payer, ch, 600))
    deadline = env.chain_time() + 600
    tx = env.run(
        v.close_cooperative(
            env.payer,
            ch,
            300,
            deadline,
            sign_voucher(env.payer, domain(env), ch, 300),
            sign_close(env.provider, domain(env), ch, 300, deadline),
        )
    )
    (closed,) = tx.of_type(Closed)
    assert (closed.provider_amount, closed.refund) == (300, 700)
    state = env.run(v.channel_state(ch))
    assert (state.pending_withdraw, state.withdraw_ready_at, state.withdrawn) == (0, 0, 700)
    assert env.eth(v.address) == 0
