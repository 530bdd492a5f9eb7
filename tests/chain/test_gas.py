"""Gas regression guard for PayGoVault (figures are whole-transaction gas, incl. the 21,000 base)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from eth_utils import keccak

from paygo_desktop.chain.vouchers import sign_voucher

if TYPE_CHECKING:
    from tests.chain.conftest import Env


def test_claim_gas_budget(env: Env) -> None:
    v = env.vault
    eth = env.channel(salt=(1).to_bytes(32, "big"))
    erc = env.channel(token=env.usdc, salt=(2).to_bytes(32, "big"))
    env.run(v.fund(env.payer, eth, 10**18))
    env.run(v.fund(env.payer, erc, 10**9))
    dom = env.domain()
    gas = {}
    for label, ch in (("eth", eth), ("erc20", erc)):
        for n in (1, 2):
            tx = env.run(v.claim(env.deployer, ch, 1000 * n, sign_voucher(env.payer, dom, ch, 1000 * n)))
            gas[f"{label}{n}"] = tx.gas_used
    assert gas["eth1"] <= 60_000 and gas["eth2"] <= 60_000, gas
    assert gas["erc202"] <= 60_000, gas  # later claim: provider already holds tokens


def test_claim_batch_of_ten_gas_budget(env: Env) -> None:
    v = env.vault
    dom = env.domain()
    items = []
    for i in range(10):
        ch = env.channel(salt=keccak(text=f"gas-{i}"))  # worst case: random 32-byte salts
        env.run(v.fund(env.payer, ch, 10**9))
        items.append((ch, 10**6, sign_voucher(env.payer, dom, ch, 10**6)))
    tx = env.run(v.claim_batch(env.deployer, items))
    assert len(tx.events) == 10
    assert tx.gas_used <= 200_000, tx.gas_used
