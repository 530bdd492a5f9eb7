"""Random sequences of every PayGoJobs call, by clients, workers and a stranger, checked against a model.

Hypothesis drives a state machine over several jobs at once (two clients, two workers, ETH and USDC): new
jobs funded (by the client, by a stranger, with the wrong value, with terms the contract must refuse) and
funded again, deliveries (by the worker, the client or a stranger; an empty hash; late), approvals (by the
client with the right or a wrong delivery, by the worker, by a stranger), releases and refunds (by anyone,
early and late), cancellations signed by the worker, the client or a stranger, for the delivery the job
has or another one, and time moving (to a deadline, just past it, to a review window's end, just past it,
or far). A call the contract must refuse is checked for its error (an ``eth_call`` on the pending block),
then sent anyway and must revert. After every step:

* every job's on-chain state (status, delivery time, delivery) equals the model's;
* the contract holds, per token, exactly the sum of the prices of the jobs still open (Funded, Delivered);
* every tracked account's ETH and USDC balance moved exactly as the model says (gas fees included): so no
  job paid out more than once, a worker was paid only by its client's approval or by a release after the
  review window of a delivery, and a client was paid back only by a refund after the deadline of a job
  with no delivery or by its worker's cancellation.

Speed: one keep-alive JSON-RPC connection, impersonated accounts, a fixed gas limit, the block time set
before each transaction (``test_vault_invariants.Rpc``). ``scripts/mutation_check.py --contract jobs``
plants bugs in the contract and shows these settings catch them.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eth_utils import keccak
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from paygo_desktop.chain.jobs import (
    MAX_DURATION,
    MAX_REVIEW_WINDOW,
    NO_DELIVERY,
    Job,
    JobsDomain,
    JobStatus,
    error_name,
    sign_cancel,
)
from paygo_desktop.chain.vouchers import ZERO_ADDRESS
from tests.chain.jobs_support import JOBS_ARTIFACT_ENV, Jobs
from tests.chain.test_vault_invariants import BALANCE_OF, Rpc

if TYPE_CHECKING:
    from tests.chain.conftest import Env

GAS = 500_000
RICH = 2**200
ETH_PRICE_LIMIT = 2**100  # anvil wants value + gas x price within 128 bits
JOB_STATE = keccak(text="jobState(bytes32)")[:4]
JOB_TUPLE = "(address,address,address,uint128,uint64,uint64,bytes32,bytes32)"
SELECTORS = {
    name: keccak(text=f"{name}({JOB_TUPLE}{args})")[:4]
    for name, args in (
        ("fund", ""),
        ("deliver", ",bytes32"),
        ("approve", ",bytes32"),
        ("release", ""),
        ("refund", ""),
        ("cancel", ",bytes"),
    )
}
MAX_JOBS = 10
JOB = st.integers(0, 2**16)  # which job a step is about (``pick``)
DAY = 24 * 3600

# How many random sequences, and how long: scripts/mutation_check.py shows these catch every planted bug;
# docs/contract.md gives the time the run takes.
EXAMPLES = 50
STEPS = 40
PHASES = (Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink)
PHASES_FOR_MUTANTS = (Phase.explicit, Phase.reuse, Phase.generate)


@dataclass
class Model:
    """What one job should be: its terms, and what the contract should say of it."""

    job: Job
    status: JobStatus = JobStatus.NONE
    delivered_at: int = 0
    delivery: bytes = NO_DELIVERY
    worker_paid: int = 0
    client_paid: int = 0
    cancels: dict[tuple[int, bytes], bytes] = field(default_factory=dict)

    @property
    def is_open(self) -> bool:
        return self.status in (JobStatus.FUNDED, JobStatus.DELIVERED)


def test_random_sequences_keep_every_promise(jobs: Jobs) -> None:
    env: Env = jobs.env
    rpc = Rpc(env.url)
    orig_batch = rpc.batch

    def batch(calls):
        with open("/tmp/rpclog.txt", "a") as fh:
            fh.write(repr(calls)[:300] + "\n")
        return orig_batch(calls)

    rpc.batch = batch
    clients = [env.payer, env.payer2]
    workers = [env.provider, env.provider2]
    stranger = env.stranger
    relayer = env.deployer  # sends what anyone may send; its gas is not tracked
    tokens = [ZERO_ADDRESS, env.usdc]
    tracked = [a.address for a in (*clients, *workers, stranger)]
    domain = JobsDomain(env.chain_id, jobs.address)
    other_domain = JobsDomain(env.chain_id + 1, jobs.address)
    deliveries = [keccak(text=f"delivery {n}") for n in range(3)]

    for address in tracked:
        rpc("anvil_setBalance", [address, hex(RICH)])
        env.mint_usdc(address, RICH)

    def balance_of(token: str, owner: str) -> tuple[str, list[Any]]:
        if token == ZERO_ADDRESS:
            return ("eth_getBalance", [owner, "latest"])
        data = "0x" + (BALANCE_OF + bytes(12) + bytes.fromhex(owner[2:])).hex()
        return ("eth_call", [{"to": token, "data": data}, "latest"])

    prices = st.one_of(st.integers(1, 10**6), st.integers(1, 10**6), st.integers(2**64, ETH_PRICE_LIMIT))
    # mostly terms the contract takes; now and then one at or past a limit
    deadlines = st.sampled_from(
        [3600, DAY, 7 * DAY, 30 * DAY, 3600, DAY, 7 * DAY, 30 * DAY, 1, 60, 0, MAX_DURATION, MAX_DURATION + 1]
    )
    reviews = st.sampled_from([0, 60, 3600, DAY, 60, 3600, DAY, MAX_REVIEW_WINDOW, MAX_REVIEW_WINDOW + 1])
    stats: dict[str, int] = {}  # PAYGO_JOBS_STATS=FILE: how often each step ran or was refused, written there

    class JobsMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.snap = rpc("evm_snapshot", [])
            self.ts = int(rpc("eth_getBlockByNumber", ["latest", False])["timestamp"], 16)
            self.models: list[Model] = []
            self.expected = self.read_balances()

        def teardown(self) -> None:
            with open("/tmp/jobstats.txt", "a") as fh:
                fh.write(" ".join(m.status.name for m in self.models) + "\n")
            rpc("evm_revert", [self.snap])

        # ---------------------------------------------------------------- chain access

        def read_balances(self) -> dict[tuple[str, int], int]:
            keys = [(a, t) for a in tracked for t in range(len(tokens))]
            answers = rpc.batch([balance_of(tokens[t], a) for a, t in keys])
            return {k: int(a["result"], 16) for k, a in zip(keys, answers, strict=True)}

        def send(self, sender: str, data: bytes, value: int = 0, error: str | None = None) -> bool:
            """Send a call at the next second; ``error``: it must be refused with that error (checked on
            the pending block first) and revert. True if it ran."""
            self.ts += 1
            rpc("evm_setNextBlockTimestamp", [self.ts])
            tx = {"from": sender, "to": jobs.address, "data": "0x" + data.hex(), "value": hex(value)}
            if error is not None:
                answer = rpc.raw("eth_call", [tx, "pending"])
                assert "error" in answer, f"the contract accepted a call it must refuse with {error}"
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
            step = bytes.fromhex(tx["data"][2:10])
            name = next(
                n
                for n in ("fund", "deliver", "approve", "release", "refund", "cancel")
                if step == SELECTORS[n]
            )
            stats[f"{name} {error or 'ran'}"] = stats.get(f"{name} {error or 'ran'}", 0) + 1
            assert ran == (error is None), f"expected {error or 'success'}, the transaction {ran=}"
            return ran

        def move(self, address: str, token: str, amount: int) -> None:
            if address in tracked:
                self.expected[(address, tokens.index(token))] += amount

        def pick(self, index: int) -> Model | None:
            """Mostly a job whose price is still in the contract; now and then any job, ended or never
            funded."""
            open_ones = [m for m in self.models if m.is_open]
            if open_ones and index % 5 != 4:
                return open_ones[(index // 5) % len(open_ones)]
            return self.models[index % len(self.models)] if self.models else None

        def at(self) -> int:
            """The block time of the next call."""
            return self.ts + 1

        # ---------------------------------------------------------------- rules: new jobs

        @initialize(
            terms=st.lists(
                st.tuples(
                    st.integers(0, 1), st.integers(0, 1), st.integers(0, 1), prices, deadlines, reviews
                ),
                min_size=3,
                max_size=3,
            )
        )
        def first_jobs(self, terms: list[tuple[int, int, int, int, int, int]]) -> None:
            for c, w, t, price, deadline_in, review in terms:
                self.new_job(
                    c,
                    w,
                    t,
                    price,
                    max(deadline_in, 1) % MAX_DURATION,
                    review % MAX_REVIEW_WINDOW,
                    "client",
                    1,
                )

        @rule(
            c=st.integers(0, 1),
            w=st.sampled_from([0, 1, 0, 1, 2]),
            t=st.integers(0, 1),
            price=st.one_of(prices, prices, prices, st.just(0)),
            deadline_in=deadlines,
            review=reviews,
            funder=st.sampled_from(["client"] * 6 + ["stranger", "worker"]),
            wrong_value=st.integers(0, 9),
            again=st.integers(0, 7),
        )
        def new_job(
            self,
            c: int,
            w: int,
            t: int,
            price: int,
            deadline_in: int,
            review: int,
            funder: str,
            wrong_value: int,
            again: int = 1,
        ) -> None:
            """A new job, mostly funded by its client; now and then a job funded before, funded again."""
            if again == 0 and self.models:
                m = self.models[price % len(self.models)]
                self.fund(m, m.job.client if funder == "client" else stranger.address, 1)
                return
            client = clients[c].address
            worker = workers[w].address if w < 2 else client  # now and then a client hires itself
            token = tokens[t]
            at = self.at()
            job = Job(
                client=client,
                worker=worker,
                token=token,
                price=price if token != ZERO_ADDRESS else min(price, ETH_PRICE_LIMIT),
                deadline=at + deadline_in,
                review_window=review,
                terms=keccak(text=f"brief {len(self.models)}"),
                salt=os.urandom(32),
            )
            if len(self.models) >= MAX_JOBS:
                return
            model = Model(job)
            self.models.append(model)
            self.fund(
                model, {"client": client, "stranger": stranger.address, "worker": worker}[funder], wrong_value
            )

        def fund(self, m: Model, sender: str, wrong_value: int) -> None:
            job, at = m.job, self.at()
            wrong = wrong_value == 0
            value = job.price if job.is_native else 0
            if wrong:
                value = value + 1 if job.is_native else 1
            if sender != job.client:
                error: str | None = "NotClient"
            elif job.worker == job.client:
                error = "InvalidJob"
            elif job.price == 0:
                error = "ZeroPrice"
            elif job.deadline <= at:
                error = "DeadlinePassed"
            elif job.deadline > at + MAX_DURATION:
                error = "DeadlineTooFar"
            elif job.review_window > MAX_REVIEW_WINDOW:
                error = "ReviewWindowTooLong"
            elif m.status is not JobStatus.NONE:
                error = "JobExists"
            elif wrong:
                error = "WrongValue"
            else:
                error = None
            if self.send(sender, jobs.client.call_data("fund", job.as_tuple()), value, error):
                m.status = JobStatus.FUNDED
                self.move(job.client, job.token, -job.price)

        # ---------------------------------------------------------------- rules: the worker

        @rule(index=JOB, which=st.integers(0, 2))
        def worker_delivers(self, index: int, which: int) -> None:
            m = self.pick(index)
            if m is not None:
                self.deliver(m, m.job.worker, deliveries[which])

        @rule(index=JOB, by=st.sampled_from(["client", "stranger", "worker"]), which=st.integers(0, 2))
        def someone_else_delivers(self, index: int, by: str, which: int) -> None:
            """The client or a stranger posts a delivery, or the worker an empty one."""
            m = self.pick(index)
            if m is not None:
                sender = {"client": m.job.client, "stranger": stranger.address, "worker": m.job.worker}[by]
                self.deliver(m, sender, NO_DELIVERY if by == "worker" else deliveries[which])

        def deliver(self, m: Model, sender: str, delivery: bytes) -> None:
            job, at = m.job, self.at()
            if sender != job.worker:
                error: str | None = "NotWorker"
            elif delivery == NO_DELIVERY:
                error = "ZeroDelivery"
            elif m.status is not JobStatus.FUNDED:
                error = "WrongStatus"
            elif at > job.deadline:
                error = "DeadlinePassed"
            else:
                error = None
            if self.send(sender, jobs.client.call_data("deliver", job.as_tuple(), delivery), error=error):
                m.status, m.delivered_at, m.delivery = JobStatus.DELIVERED, at, delivery

        # ---------------------------------------------------------------- rules: payouts

        @rule(index=JOB)
        def client_approves(self, index: int) -> None:
            """The client approves the delivery the job has (none before one)."""
            m = self.pick(index)
            if m is not None:
                self.approve(m, m.job.client, m.delivery)

        @rule(index=JOB, by=st.sampled_from(["worker", "stranger", "client"]), which=st.integers(0, 3))
        def wrong_approval(self, index: int, by: str, which: int) -> None:
            """The worker or a stranger approves, or the client names a delivery the job does not have."""
            m = self.pick(index)
            if m is not None:
                sender = {"worker": m.job.worker, "stranger": stranger.address, "client": m.job.client}[by]
                other = NO_DELIVERY if which == 3 else deliveries[which]
                self.approve(m, sender, m.delivery if by != "client" else other)

        def approve(self, m: Model, sender: str, delivery: bytes) -> None:
            job = m.job
            if sender != job.client:
                error: str | None = "NotClient"
            elif not m.is_open:
                error = "WrongStatus"
            elif delivery != m.delivery:
                error = "DeliveryMismatch"
            else:
                error = None
            if self.send(sender, jobs.client.call_data("approve", job.as_tuple(), delivery), error=error):
                m.status = JobStatus.APPROVED
                self.pay_worker(m)

        @rule(index=JOB, by=st.sampled_from(["relayer", "worker", "client", "stranger"]))
        def release(self, index: int, by: str) -> None:
            m = self.pick(index)
            if m is None:
                return
            job = m.job
            sender = self.anyone(m, by)
            if m.status is not JobStatus.DELIVERED:
                error: str | None = "WrongStatus"
            elif self.at() <= m.delivered_at + job.review_window:
                error = "ReviewNotOver"
            else:
                error = None
            if self.send(sender, jobs.client.call_data("release", job.as_tuple()), error=error):
                m.status = JobStatus.RELEASED
                self.pay_worker(m)

        @rule(index=JOB, by=st.sampled_from(["relayer", "worker", "client", "stranger"]))
        def refund(self, index: int, by: str) -> None:
            m = self.pick(index)
            if m is None:
                return
            job = m.job
            sender = self.anyone(m, by)
            if m.status is not JobStatus.FUNDED:
                error: str | None = "WrongStatus"
            elif self.at() <= job.deadline:
                error = "DeadlineNotPassed"
            else:
                error = None
            if self.send(sender, jobs.client.call_data("refund", job.as_tuple()), error=error):
                m.status = JobStatus.REFUNDED
                self.pay_client(m)

        @rule(
            index=JOB,
            which=st.integers(0, 2),
            early=st.booleans(),
            client_tries=st.booleans(),
            by=st.sampled_from(["relayer", "worker"]),
        )
        def delivered_and_never_approved(
            self, index: int, which: int, early: bool, client_tries: bool, by: str
        ) -> None:
            """The worker's whole way to its pay when the client stays silent: deliver, wait for the review
            window's end (or one second less), release. Now and then the client tries to take the price
            back first, once the deadline has passed too."""
            m = self.pick(index)
            if m is None:
                return
            if m.status is JobStatus.FUNDED:
                self.deliver(m, m.job.worker, deliveries[which])
            if m.status is JobStatus.DELIVERED:
                end = m.delivered_at + m.job.review_window
                self.ts = max(
                    self.ts, (max(end, m.job.deadline) if client_tries else end) - (1 if early else 0)
                )
                if client_tries:
                    self.refund(index, "client")
            self.release(index, by)

        @rule(index=JOB, early=st.booleans(), by=st.sampled_from(["relayer", "client", "stranger"]))
        def never_delivered(self, index: int, early: bool, by: str) -> None:
            """The client's way back when the worker never delivers: wait for the deadline (or not quite),
            refund."""
            m = self.pick(index)
            if m is None:
                return
            self.ts = max(self.ts, m.job.deadline - (1 if early else 0))
            self.refund(index, by)

        @rule(index=JOB, by=st.sampled_from(["client", "relayer", "worker"]))
        def worker_cancels(self, index: int, by: str) -> None:
            """The worker signs a Cancel for the job as it stands; the client (or anyone) sends it."""
            m = self.pick(index)
            if m is not None:
                key = self.key(m.job.worker)
                self.cancel(m, sign_cancel(key, domain, m.job.id, m.delivery), True, self.anyone(m, by))

        @rule(
            index=JOB,
            forgery=st.sampled_from(
                ["client", "stranger", "before the delivery", "another delivery", "another chain"]
            ),
        )
        def forged_cancel(self, index: int, forgery: str) -> None:
            """A Cancel the worker never gave for this job as it stands: the client's or a stranger's
            signature, the worker's for no delivery or another one, or for another chain."""
            m = self.pick(index)
            if m is None:
                return
            job, delivery, dom, key = m.job, m.delivery, domain, self.key(m.job.worker)
            if forgery == "client":
                key = self.key(job.client)
            elif forgery == "stranger":
                key = stranger
            elif forgery == "before the delivery":
                delivery = NO_DELIVERY
            elif forgery == "another delivery":
                delivery = deliveries[0] if m.delivery != deliveries[0] else deliveries[1]
            else:
                dom = other_domain
            valid = key.address == job.worker and delivery == m.delivery and dom is domain
            self.cancel(m, sign_cancel(key, dom, job.id, delivery), valid, job.client)

        def cancel(self, m: Model, signature: bytes, valid: bool, sender: str) -> None:
            if not m.is_open:
                error: str | None = "WrongStatus"
            elif not valid:
                error = "InvalidSignature"
            else:
                error = None
            if self.send(sender, jobs.client.call_data("cancel", m.job.as_tuple(), signature), error=error):
                m.status = JobStatus.CANCELLED
                self.pay_client(m)

        def anyone(self, m: Model, by: str) -> str:
            return {
                "relayer": relayer,
                "worker": m.job.worker,
                "client": m.job.client,
                "stranger": stranger.address,
            }[by]

        def key(self, address: str) -> Any:
            return next(a for a in (*clients, *workers) if a.address == address)

        def pay_worker(self, m: Model) -> None:
            m.worker_paid += m.job.price
            self.move(m.job.worker, m.job.token, m.job.price)

        def pay_client(self, m: Model) -> None:
            m.client_paid += m.job.price
            self.move(m.job.client, m.job.token, m.job.price)

        # ---------------------------------------------------------------- rules: time

        @rule(
            index=JOB,
            to=st.sampled_from(
                ["deadline", "past deadline", "review end", "past review end", "a minute", "a minute", "far"]
            ),
        )
        def time_passes(self, index: int, to: str) -> None:
            """Move the clock to where a rule changes: a job's deadline, its review window's end, or far."""
            m = self.pick(index)
            if to in ("far", "a minute") or m is None:
                self.ts += 40 * DAY if to == "far" else 60
                return
            end = m.delivered_at + m.job.review_window if m.delivered_at else m.job.deadline
            target = {
                "deadline": m.job.deadline - 1,
                "past deadline": m.job.deadline,
                "review end": end - 1,
                "past review end": end,
            }[to]
            self.ts = max(self.ts, target)  # the next call runs one second later: at, or just past, it

        # ---------------------------------------------------------------- the promises, after every step

        @invariant()
        def books_match(self) -> None:
            calls: list[tuple[str, list[Any]]] = [
                ("eth_call", [{"to": jobs.address, "data": "0x" + (JOB_STATE + m.job.id).hex()}, "latest"])
                for m in self.models
            ]
            keys = [(a, t) for a in tracked for t in range(len(tokens))]
            calls += [balance_of(tokens[t], a) for a, t in keys]
            calls += [balance_of(token, jobs.address) for token in tokens]
            answers = [a["result"] for a in rpc.batch(calls)]
            for n, m in enumerate(self.models):
                raw = bytes.fromhex(answers[n][2:])
                status, delivered_at, delivery = (
                    int.from_bytes(raw[:32]),
                    int.from_bytes(raw[32:64]),
                    raw[64:96],
                )
                assert (JobStatus(status), delivered_at, delivery) == (
                    m.status,
                    m.delivered_at,
                    m.delivery,
                ), n
                # paid out at most once, and only by an end of the job
                assert m.worker_paid + m.client_paid == (0 if m.status.value <= 2 else m.job.price), n
                assert m.worker_paid == 0 or m.status in (JobStatus.APPROVED, JobStatus.RELEASED), n
                assert m.client_paid == 0 or m.status in (JobStatus.REFUNDED, JobStatus.CANCELLED), n
            balances = answers[len(self.models) : len(self.models) + len(keys)]
            for key, raw in zip(keys, balances, strict=True):
                assert int(raw, 16) == self.expected[key], f"balance of {key}"
            for t, token in enumerate(tokens):
                held = sum(m.job.price for m in self.models if m.is_open and m.job.token == token)
                assert int(answers[-len(tokens) + t], 16) == held, f"the contract's {('ETH', 'USDC')[t]}"

    mutant = bool(os.environ.get(JOBS_ARTIFACT_ENV))
    try:
        run_state_machine_as_test(
            JobsMachine,
            settings=settings(
                max_examples=EXAMPLES,
                stateful_step_count=STEPS,
                deadline=None,
                derandomize=True,
                database=None,
                phases=PHASES_FOR_MUTANTS if mutant else PHASES,
                suppress_health_check=list(HealthCheck),
            ),
        )
    finally:
        rpc.close()
        if os.environ.get("PAYGO_JOBS_STATS"):
            lines = [f"{count:6d} {what}" for what, count in sorted(stats.items())]
            Path(os.environ["PAYGO_JOBS_STATS"]).write_text("\n".join(lines) + "\n", encoding="utf-8")
