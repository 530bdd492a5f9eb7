"""Random fund / claim / withdraw / close sequences from several payers and providers.

Invariant: for each token, the vault's balance == sum over channels of (deposited - claimed - withdrawn),
and every channel's on-chain state equals a simple Python model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from eth_utils import keccak
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from paygo_desktop.chain.vouchers import ZERO_ADDRESS, Channel, sign_close, sign_voucher

if TYPE_CHECKING:
    from tests.chain.conftest import Env


@dataclass
class Model:
    deposited: int = 0
    claimed: int = 0
    withdrawn: int = 0
    pending: int = 0
    close_nonce: int = 0
    signed: list[int] = field(default_factory=lambda: [0])

    @property
    def balance(self) -> int:
        return self.deposited - self.withdrawn


def test_random_sequences_keep_vault_solvent(env: Env) -> None:
    payers = [env.payer, env.payer2, env.stranger]
    providers = [env.provider, env.provider2]
    tokens = [ZERO_ADDRESS, env.usdc]
    v = env.vault
    dom = env.domain()

    def chan(p: int, q: int, t: int) -> Channel:
        return Channel(
            payer=payers[p].address,
            provider=providers[q].address,
            token=tokens[t],
            withdraw_delay=env.min_delay,
            salt=keccak(text=f"inv-{p}-{q}-{t}"),
        )

    keys = st.tuples(st.integers(0, 2), st.integers(0, 1), st.integers(0, 1))

    class VaultMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.snap = env.rpc("evm_snapshot")
            self.models: dict[tuple[int, int, int], Model] = {}

        def teardown(self) -> None:
            env.rpc("evm_revert", [self.snap])

        def m(self, key: tuple[int, int, int]) -> Model:
            return self.models.setdefault(key, Model())

        def check_channel(self, key: tuple[int, int, int]) -> None:
            s = env.run(v.channel_state(chan(*key)))
            m = self.m(key)
            assert (s.deposited, s.claimed, s.withdrawn, s.pending_withdraw, s.close_nonce) == (
                m.deposited,
                m.claimed,
                m.withdrawn,
                m.pending,
                m.close_nonce,
            )

        @rule(key=keys, amount=st.integers(1, 10**6), by_payer=st.booleans())
        def fund(self, key: Any, amount: int, by_payer: bool) -> None:
            funder = payers[key[0]] if by_payer else env.stranger
            env.run(v.fund(funder, chan(*key), amount))
            m = self.m(key)
            if m.deposited:
                m.close_nonce += 1
            m.deposited += amount
            self.check_channel(key)

        @rule(key=keys, increment=st.integers(0, 2 * 10**6), stale=st.booleans())
        def claim(self, key: Any, increment: int, stale: bool) -> None:
            m = self.m(key)
            ch = chan(*key)
            if stale:
                amount = m.signed[len(m.signed) // 2]
            else:
                amount = m.signed[-1] + increment
                m.signed.append(amount)
            sig = sign_voucher(payers[key[0]], dom, ch, amount)
            env.run(v.claim(env.deployer, ch, amount, sig))
            target = min(amount, m.balance)
            if target > m.claimed:
                m.claimed = target
            self.check_channel(key)

        @rule(key=keys, amount=st.integers(0, 2 * 10**6))
        def request_withdraw(self, key: Any, amount: int) -> None:
            env.run(v.request_withdraw(payers[key[0]], chan(*key), amount))
            self.m(key).pending = amount
            self.check_channel(key)

        @rule(key=keys)
        def finalize_withdraw(self, key: Any) -> None:
            m = self.m(key)
            if m.pending == 0:
                return
            env.advance(env.min_delay)
            env.run(v.finalize_withdraw(env.stranger, chan(*key)))
            amount = min(m.pending, m.balance - m.claimed)
            m.withdrawn += amount
            m.pending = 0
            self.check_channel(key)

        @rule(key=keys, extra=st.integers(0, 10**6))
        def close(self, key: Any, extra: int) -> None:
            m = self.m(key)
            ch = chan(*key)
            final = m.claimed + extra
            sig = sign_close(providers[key[1]], dom, ch, final, m.close_nonce)
            env.run(v.close_cooperative(payers[key[0]], ch, final, m.close_nonce, sig))
            m.claimed = max(m.claimed, min(final, m.balance))
            m.withdrawn += m.balance - m.claimed
            m.pending = 0
            m.close_nonce += 1
            self.check_channel(key)

        @invariant()
        def solvent(self) -> None:
            for t, token in enumerate(tokens):
                held = sum(m.deposited - m.claimed - m.withdrawn for k, m in self.models.items() if k[2] == t)
                assert env.run(v.token_balance(token, v.address)) == held

    run_state_machine_as_test(
        VaultMachine,
        settings=settings(
            max_examples=20,
            stateful_step_count=15,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        ),
    )
