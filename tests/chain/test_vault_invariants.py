"""Random sequences of every vault call, from payers, providers and a stranger, checked against a model.

Hypothesis drives a state machine over five channels (two payers, two providers, ETH and USDC, one channel
with a delegated signer, two channels with the same provider and token so a batch pays them in one run).
The rules reach every function of the vault: fund and top-ups (amounts up to 2**128 - 1, overflow, wrong
value, refused channel terms), claim (current and stale vouchers, forged ones), claimBatch (duplicates,
mixed channels and tokens, a forged entry that voids the batch), requestWithdraw (by the payer, by someone
else, cancel), finalizeWithdraw (early, late, with nothing pending), closeCooperative agreed by both sides
(at, below and above what was claimed, expired, repeated), closes a provider attempts alone with any amount
and a payer alone. Every call the vault must refuse is checked for its error (an ``eth_call`` on the
pending block first), then sent anyway and must revert. After every step:

* every channel's on-chain state equals the model's;
* no provider ever received more from a channel than the highest cumulative its signer signed;
* the vault holds, per token, exactly the sum of (balance - claimed) over its channels;
* every tracked account's ETH and USDC balances moved exactly as the model says (gas fees included).

Speed: transactions go to anvil over one keep-alive JSON-RPC connection (``eth_sendTransaction`` from
impersonated accounts, a fixed gas limit, the block time set before each one, so time is exact), and the
checks after a step are one batched request. ``scripts/mutation_check.py`` proves these settings catch the
planted accounting bugs.
"""

from __future__ import annotations

import http.client
import json
import os
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from eth_account import Account
from eth_utils import keccak
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from paygo_desktop.chain.channel_state_reader import channel_state_calldata, decode_channel_state
from paygo_desktop.chain.vault import error_name
from paygo_desktop.chain.vouchers import UINT128_MAX, ZERO_ADDRESS, Channel, sign_close, sign_voucher
from tests.chain.conftest import VAULT_ARTIFACT_ENV

if TYPE_CHECKING:
    from tests.chain.conftest import Env

MAX = UINT128_MAX
MAX_WITHDRAW_DELAY = 30 * 24 * 3600
GAS = 1_500_000
RICH = 2**200  # every tracked account can fund 2**128 - 1 several times, in ETH and in USDC
# anvil refuses a transaction whose value + gas x price does not fit 128 bits: ETH deposits stay under this
# (two of them still reach 2**128 - 1), token deposits go up to 2**128 - 1 itself
ETH_VALUE_LIMIT = 2**128 - 2**64
BALANCE_OF = keccak(text="balanceOf(address)")[:4]

# How many random sequences, and how long. scripts/mutation_check.py shows these find every planted bug;
# the run takes about the time docs/contract.md gives.
EXAMPLES = 60
STEPS = 40
PHASES = (Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink)
PHASES_FOR_MUTANTS = (Phase.explicit, Phase.reuse, Phase.generate)


class Rpc:
    """JSON-RPC to anvil over one keep-alive HTTP connection; ``batch`` sends many calls in one request."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)

    def batch(self, calls: list[tuple[str, list[Any]]]) -> list[dict[str, Any]]:
        body = [{"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in enumerate(calls)]
        self.conn.request("POST", "/", json.dumps(body), {"Content-Type": "application/json"})
        answers = json.loads(self.conn.getresponse().read())
        return sorted(answers, key=lambda a: a["id"])

    def raw(self, method: str, params: list[Any]) -> dict[str, Any]:
        return self.batch([(method, params)])[0]

    def __call__(self, method: str, params: list[Any]) -> Any:
        answer = self.raw(method, params)
        if "error" in answer:
            raise AssertionError(f"{method} failed: {answer['error']}")
        return answer["result"]

    def close(self) -> None:
        self.conn.close()


@dataclass
class Model:
    """What one channel should hold, and every amount its signer ever signed (with the signature)."""

    deposited: int = 0
    balance: int = 0
    claimed: int = 0
    pending: int = 0
    ready_at: int = 0
    closed: bool = False
    vouchers: dict[int, bytes] = field(default_factory=dict)

    @property
    def signed_max(self) -> int:
        return max(self.vouchers, default=0)

    def claim_payout(self, amount: int, valid: bool, balance: int, claimed: int) -> int | None:
        """What a claim of ``amount`` pays from (balance, claimed); None: it reverts (bad signature)."""
        target = min(amount, balance)
        if target <= claimed:
            return 0  # a stale voucher, or nothing escrowed: a no-op, the signature is not even read
        return target - claimed if valid else None

    def settle_close(self, final: int) -> tuple[int, int]:
        """Apply a close at ``final``: (paid to the provider, refunded to the payer)."""
        target = min(final, self.balance)
        to_provider = max(0, target - self.claimed)
        self.claimed = max(self.claimed, target)
        refund = self.balance - self.claimed
        self.balance = self.claimed
        self.closed = True
        self.pending = self.ready_at = 0
        return to_provider, refund


def test_random_sequences_keep_every_promise(env: Env) -> None:
    v = env.vault
    dom = env.domain()
    rpc = Rpc(env.url)
    payers = [env.payer, env.payer2]
    providers = [env.provider, env.provider2]
    delegate = Account.from_key(keccak(text="invariants-session-key"))
    tokens = [ZERO_ADDRESS, env.usdc]
    relayer = env.deployer  # submits what anyone may submit; its gas is not tracked
    tracked = [a.address for a in (*payers, *providers, env.stranger)]
    layout = [  # payer, provider, token, delegated signer, salt
        (0, 0, 0, False, 0),
        (0, 0, 1, False, 0),
        (1, 0, 0, False, 0),
        (1, 1, 1, True, 0),
        (0, 1, 0, False, 1),
    ]
    channels = [
        Channel(
            payer=payers[p].address,
            provider=providers[q].address,
            token=tokens[t],
            signer=delegate.address if delegated else ZERO_ADDRESS,
            withdraw_delay=env.min_delay,
            salt=salt.to_bytes(32, "big"),
        )
        for p, q, t, delegated, salt in layout
    ]
    signers = [delegate if delegated else payers[p] for p, _, _, delegated, _ in layout]
    token_of = [t for _, _, t, _, _ in layout]
    elsewhere = [  # the same parties on a channel never used: the signer's signature there is no voucher here
        Channel(payer=c.payer, provider=c.provider, token=c.token, signer=c.signer, salt=b"\x99" * 32)
        for c in channels
    ]
    chans = st.integers(0, len(channels) - 1)
    small = st.integers(1, 10**6)
    huge = st.integers(2**127, MAX)
    amounts = st.one_of(small, small, huge, st.just(MAX))

    for address in tracked:
        rpc("anvil_impersonateAccount", [address])
        rpc("anvil_setBalance", [address, hex(RICH)])
        env.mint_usdc(address, RICH)

    def balance_of(token: str, owner: str) -> tuple[str, list[Any]]:
        if token == ZERO_ADDRESS:
            return ("eth_getBalance", [owner, "latest"])
        data = "0x" + (BALANCE_OF + bytes(12) + bytes.fromhex(owner[2:])).hex()
        return ("eth_call", [{"to": token, "data": data}, "latest"])

    class VaultMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.snap = rpc("evm_snapshot", [])
            self.ts = int(rpc("eth_getBlockByNumber", ["latest", False])["timestamp"], 16)
            self.models = [Model() for _ in channels]
            self.expected = self.read_balances()

        def teardown(self) -> None:
            rpc("evm_revert", [self.snap])

        # ---------------------------------------------------------------- chain access

        def read_balances(self) -> dict[tuple[str, int], int]:
            keys = [(a, t) for a in tracked for t in range(len(tokens))]
            answers = rpc.batch([balance_of(tokens[t], a) for a, t in keys])
            return {k: int(a["result"], 16) for k, a in zip(keys, answers, strict=True)}

        def send(self, sender: str, data: str, value: int = 0, error: str | None = None) -> bool:
            """Send a vault call at the next second. ``error``: it must revert with that error (checked
            on the pending block first), and nothing may change but the sender's gas. True if it ran."""
            self.ts += 1
            rpc("evm_setNextBlockTimestamp", [self.ts])
            tx = {"from": sender, "to": v.address, "data": data, "value": hex(value)}
            if error is not None:
                answer = rpc.raw("eth_call", [tx, "pending"])
                assert "error" in answer, f"the vault accepted a call it must refuse with {error}"
                assert error_name(answer["error"].get("data")) == error, answer["error"]
            tx_hash = rpc("eth_sendTransaction", [{**tx, "gas": hex(GAS)}])
            receipt = None
            while receipt is None:
                receipt = rpc("eth_getTransactionReceipt", [tx_hash])
                if receipt is None:
                    time.sleep(0.001)
            if sender in tracked:
                fee = int(receipt["gasUsed"], 16) * int(receipt["effectiveGasPrice"], 16)
                self.expected[(sender, 0)] -= fee
            ran = receipt["status"] == "0x1"
            assert ran == (error is None), f"expected {error or 'success'}, the transaction {ran=}"
            return ran

        def move(self, address: str, token: int, amount: int) -> None:
            if address in tracked:
                self.expected[(address, token)] += amount

        def encode(self, fn: str, *args: Any) -> str:
            return str(v.contract.encode_abi(fn, args=list(args)))

        def sign(self, c: int, amount: int) -> bytes:
            """The channel's signer signs Voucher(amount): from now on it has signed that much."""
            m = self.models[c]
            if amount not in m.vouchers:
                m.vouchers[amount] = sign_voucher(signers[c], dom, channels[c], amount)
            return m.vouchers[amount]

        def forge(self, c: int, amount: int, kind: int) -> bytes:
            """A voucher signature the signer never gave for ``amount`` on this channel."""
            if kind == 0:  # the signer's real signature, for the same amount on another channel
                return sign_voucher(signers[c], dom, elsewhere[c], amount)
            if kind == 1:  # the provider signs the voucher itself
                return sign_voucher(providers[layout[c][1]], dom, channels[c], amount)
            if kind == 2:
                return b""
            return keccak(text=f"junk-{amount}") + keccak(text="s") + b"\x1b"

        def pay_out(self, c: int, to_provider: int, to_payer: int) -> None:
            p, q, t, _, _ = layout[c]
            self.move(providers[q].address, t, to_provider)
            self.move(payers[p].address, t, to_payer)

        # ---------------------------------------------------------------- rules

        @initialize(funded=st.lists(st.one_of(st.just(0), small, huge), min_size=5, max_size=5))
        def open_channels(self, funded: list[int]) -> None:
            for c, amount in enumerate(funded):
                if amount:
                    self.fund(c, amount, True)

        @rule(c=chans, amount=st.one_of(st.just(0), amounts), by_payer=st.booleans(), odd=st.integers(0, 9))
        def fund(self, c: int, amount: int, by_payer: bool, odd: int = 1) -> None:
            m, ch, t = self.models[c], channels[c], token_of[c]
            funder = ch.payer if by_payer else env.stranger.address
            if ch.is_native:
                amount = min(amount, ETH_VALUE_LIMIT - 1)
            wrong = odd == 0  # now and then the wrong value goes with it
            value = (amount + 1 if ch.is_native else 1) if wrong else (amount if ch.is_native else 0)
            if amount == 0:
                error: str | None = "ZeroAmount"
            elif m.closed:
                error = "ChannelClosed"
            elif m.deposited + amount > MAX:
                error = "AmountOverflow"
            elif wrong:
                error = "WrongValue"
            else:
                error = None
            if self.send(funder, self.encode("fund", ch.as_tuple(), amount), value, error):
                m.deposited += amount
                m.balance += amount
                self.move(funder, t, -amount)

        @rule(
            kind=st.sampled_from(["too long", "far too long", "too short", "no provider", "no payer"]),
            amount=small,
        )
        def fund_refused_terms(self, kind: str, amount: int) -> None:
            base = channels[0]
            terms = {
                "too long": (base.payer, base.provider, MAX_WITHDRAW_DELAY + 1, "WithdrawDelayTooLong"),
                "far too long": (base.payer, base.provider, 2**64 - 1, "WithdrawDelayTooLong"),
                "too short": (base.payer, base.provider, env.min_delay - 1, "WithdrawDelayTooShort"),
                "no provider": (base.payer, ZERO_ADDRESS, env.min_delay, "InvalidChannel"),
                "no payer": (ZERO_ADDRESS, base.provider, env.min_delay, "InvalidChannel"),
            }
            payer, provider, delay, error = terms[kind]
            bad = Channel(payer=payer, provider=provider, withdraw_delay=delay)
            self.send(base.payer, self.encode("fund", bad.as_tuple(), amount), amount, error)

        @rule(c=chans, step=amounts, absolute=st.booleans())
        def signer_signs(self, c: int, step: int, absolute: bool) -> None:
            m = self.models[c]
            self.sign(c, step if absolute else min(MAX, m.signed_max + step))

        @rule(c=chans, pick=st.integers(0, 2**16), by_provider=st.booleans())
        def claim(self, c: int, pick: int, by_provider: bool) -> None:
            m = self.models[c]
            if not m.vouchers:
                self.sign(c, min(MAX, m.claimed + 1 + pick))
            amount = sorted(m.vouchers)[pick % len(m.vouchers)]
            payout = m.claim_payout(amount, True, m.balance, m.claimed)
            assert payout is not None
            sender = channels[c].provider if by_provider else relayer
            self.send(sender, self.encode("claim", channels[c].as_tuple(), amount, m.vouchers[amount]))
            if payout:
                m.claimed += payout
                self.pay_out(c, payout, 0)

        @rule(c=chans, extra=amounts, kind=st.integers(0, 3))
        def provider_claims_unsigned(self, c: int, extra: int, kind: int) -> None:
            """The provider alone claims above every voucher: a no-op at best, never a payment."""
            m = self.models[c]
            amount = min(MAX, m.signed_max + extra)
            if amount in m.vouchers:
                return  # 2**128 - 1 was signed: nothing is above it
            payout = m.claim_payout(amount, False, m.balance, m.claimed)
            error = "InvalidSignature" if payout is None else None
            data = self.encode("claim", channels[c].as_tuple(), amount, self.forge(c, amount, kind))
            self.send(channels[c].provider, data, error=error)

        @rule(
            entries=st.lists(
                st.tuples(
                    chans, st.integers(0, 2**16), st.integers(0, 5).map(lambda n: n == 0)
                ),  # 1 in 6 forged
                min_size=1,
                max_size=6,
            ),
            repeat=st.booleans(),
        )
        def claim_batch(self, entries: list[tuple[int, int, bool]], repeat: bool) -> None:
            if repeat:  # the very same entry twice
                entries = [*entries, entries[0]]
            items: list[tuple[Any, int, bytes]] = []
            sim = {c: (m.balance, m.claimed) for c, m in enumerate(self.models)}
            payouts: list[tuple[int, int]] = []
            error: str | None = None
            for c, pick, forged in entries:
                m = self.models[c]
                if forged or not m.vouchers:
                    amount = min(MAX, m.signed_max + 1 + pick)
                    sig = m.vouchers.get(amount) or self.forge(c, amount, 1)
                    valid = amount in m.vouchers
                else:
                    amount = sorted(m.vouchers)[pick % len(m.vouchers)]
                    sig, valid = m.vouchers[amount], True
                items.append((channels[c].as_tuple(), amount, sig))
                balance, claimed = sim[c]
                payout = m.claim_payout(amount, valid, balance, claimed)
                if payout is None:
                    error = error or "InvalidSignature"
                elif payout:
                    sim[c] = (balance, claimed + payout)
                    payouts.append((c, payout))
            data = self.encode("claimBatch", *map(list, zip(*items, strict=True)))
            if self.send(relayer, data, error=error):
                for c, payout in payouts:
                    self.models[c].claimed += payout
                    self.pay_out(c, payout, 0)

        @rule(c=chans, which=st.integers(0, 4), extra=small, by=st.integers(0, 3))
        def request_withdraw(self, c: int, which: int, extra: int, by: int) -> None:
            m, ch = self.models[c], channels[c]
            by_payer = by != 0  # now and then its provider tries
            free = m.balance - m.claimed
            amount = min(MAX, [0, free, free + extra, extra, MAX][which])
            sender = ch.payer if by_payer else ch.provider
            error = "NotPayer" if not by_payer else "ChannelClosed" if m.closed else None
            if self.send(sender, self.encode("requestWithdraw", ch.as_tuple(), amount), error=error):
                m.pending = amount
                m.ready_at = 0 if amount == 0 else self.ts + ch.withdraw_delay

        @rule(pick=st.integers(0, 2**16), wait=st.integers(0, 2))
        def finalize_withdraw(self, pick: int, wait: int, only: int | None = None) -> None:
            pending = [c for c, m in enumerate(self.models) if m.pending] or range(len(channels))
            c = pending[pick % len(pending)] if only is None else only  # mostly one with a withdrawal pending
            m, ch = self.models[c], channels[c]
            self.ts += (0, ch.withdraw_delay // 2, ch.withdraw_delay)[wait]
            at = self.ts + 1
            if m.pending == 0:
                error: str | None = "NoPendingWithdraw"
            elif at < m.ready_at:
                error = "WithdrawNotReady"
            else:
                error = None
            amount = min(m.pending, m.balance - m.claimed)
            if self.send(relayer, self.encode("finalizeWithdraw", ch.as_tuple()), error=error):
                m.balance -= amount
                m.pending = m.ready_at = 0
                self.pay_out(c, 0, amount)

        @rule(c=chans, which=st.integers(0, 4), extra=small)
        def withdraw_after_the_delay(self, c: int, which: int, extra: int) -> None:
            """The payer's whole way out: request, wait the channel's delay, finalize."""
            self.request_withdraw(c, which, extra, 1)
            self.finalize_withdraw(c, 2, only=c)

        def close(self, c: int, final: int, deadline: int, signer_sig: bytes, provider_sig: bytes) -> str:
            return self.encode(
                "closeCooperative", channels[c].as_tuple(), final, deadline, signer_sig, provider_sig
            )

        @rule(
            c=chans,
            variant=st.sampled_from(["agreed", "agreed", "provider alone", "payer alone"]),
            data=st.data(),
        )
        def close_attempt(self, c: int, variant: str, data: st.DataObject) -> None:
            """One rule for every kind of close, so that closes (which end a channel) stay a small share of
            the steps and the channels live long enough for the other calls to meet."""
            draw = data.draw
            if variant == "agreed":
                self.close_agreed(
                    c,
                    draw(st.integers(0, 3)),
                    draw(small),
                    draw(st.integers(0, 3)),
                    draw(st.integers(0, 3600)),
                )
            elif variant == "provider alone":
                self.provider_closes_alone(
                    c,
                    draw(st.one_of(amounts, st.just(0))),
                    draw(st.integers(0, 5)),
                    draw(st.integers(0, 2**16)),
                )
            else:
                self.payer_closes_alone(c, draw(st.sampled_from(["payer", "stranger", "signer"])))

        def close_agreed(self, c: int, which: int, below: int, late: int, life: int) -> None:
            """Both sides sign: the provider's Close and the signer's Voucher for the same amount, at most
            what the signer signed before (the app's rule) or what was claimed."""
            m, ch = self.models[c], channels[c]
            expired = late == 0  # now and then it is sent after its deadline
            ceiling = max(m.signed_max, m.claimed)
            final = [ceiling, m.claimed, max(0, m.claimed - below), below % (ceiling + 1)][which]
            at = self.ts + 1
            deadline = at - 1 - life if expired else at + life
            provider_sig = sign_close(providers[layout[c][1]], dom, ch, final, deadline)
            signer_sig = self.sign(c, final)
            error = "CloseExpired" if expired else "ChannelClosed" if m.closed else None
            sender = (ch.payer, ch.provider, relayer)[life % 3]
            if self.send(sender, self.close(c, final, deadline, signer_sig, provider_sig), error=error):
                self.pay_out(c, *m.settle_close(final))

        def provider_closes_alone(self, c: int, final: int, kind: int, pick: int) -> None:
            """The provider signs a Close for any amount and submits it with whatever signer signature it
            holds: only a real voucher of the signer for exactly that amount makes it valid."""
            m, ch = self.models[c], channels[c]
            if kind >= 4 and m.vouchers:  # a voucher the signer really signed: the close is legitimate
                final = sorted(m.vouchers)[pick % len(m.vouchers)]
                signer_sig, valid = m.vouchers[final], True
            elif kind == 3 and any(a != final for a in m.vouchers):  # a real voucher, for another amount
                others = sorted(a for a in m.vouchers if a != final)
                signer_sig, valid = m.vouchers[others[pick % len(others)]], False
            else:
                signer_sig = self.forge(c, final, kind % 4)
                valid = False
            deadline = self.ts + 1 + pick
            provider_sig = sign_close(providers[layout[c][1]], dom, ch, final, deadline)
            error = "ChannelClosed" if m.closed else None if valid else "InvalidSignature"
            if self.send(ch.provider, self.close(c, final, deadline, signer_sig, provider_sig), error=error):
                self.pay_out(c, *m.settle_close(final))

        def payer_closes_alone(self, c: int, forger: str) -> None:
            """The payer settles at zero with its own voucher and a Close the provider never signed."""
            m, ch = self.models[c], channels[c]
            key = {"payer": payers[layout[c][0]], "stranger": env.stranger, "signer": signers[c]}[forger]
            deadline = self.ts + 100
            provider_sig = sign_close(key, dom, ch, 0, deadline)
            signer_sig = self.sign(c, 0)
            error = "ChannelClosed" if m.closed else "InvalidSignature"
            self.send(ch.payer, self.close(c, 0, deadline, signer_sig, provider_sig), error=error)

        # ---------------------------------------------------------------- the promises, after every step

        @invariant()
        def books_match(self) -> None:
            calls: list[tuple[str, list[Any]]] = [
                ("eth_call", [{"to": v.address, "data": channel_state_calldata(ch.id)}, "latest"])
                for ch in channels
            ]
            keys = [(a, t) for a in tracked for t in range(len(tokens))]
            calls += [balance_of(tokens[t], a) for a, t in keys]
            calls += [balance_of(token, v.address) for token in tokens]
            answers = [a["result"] for a in rpc.batch(calls)]
            for c, m in enumerate(self.models):
                s = decode_channel_state(answers[c])
                assert (
                    s.deposited,
                    s.claimed,
                    s.withdrawn,
                    s.pending_withdraw,
                    s.withdraw_ready_at,
                    s.closed,
                ) == (
                    m.deposited,
                    m.claimed,
                    m.deposited - m.balance,
                    m.pending,
                    m.ready_at,
                    m.closed,
                ), f"channel {c}"
                # the provider received m.claimed from this channel (the balances below prove it)
                assert m.claimed <= m.signed_max, f"channel {c} paid its provider beyond every voucher"
            balances = answers[len(channels) : len(channels) + len(keys)]
            for key, raw in zip(keys, balances, strict=True):
                assert int(raw, 16) == self.expected[key], f"balance of {key}"
            for t in range(len(tokens)):
                held = sum(m.balance - m.claimed for c, m in enumerate(self.models) if token_of[c] == t)
                assert int(answers[-len(tokens) + t], 16) == held, f"the vault's {('ETH', 'USDC')[t]}"

    try:
        run_state_machine_as_test(
            VaultMachine,
            settings=settings(
                max_examples=EXAMPLES,
                stateful_step_count=STEPS,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                derandomize=True,
                database=None,
                # no explain phase (it traces every line: minutes on Python 3.11); against a planted bug
                # (scripts/mutation_check.py) the first failure is enough, without shrinking it
                phases=PHASES_FOR_MUTANTS if os.environ.get(VAULT_ARTIFACT_ENV) else PHASES,
            ),
        )
    finally:
        for address in tracked:
            rpc("anvil_stopImpersonatingAccount", [address])
        rpc.close()
