"""PayGoJobs, path by path: every way the price leaves the contract (approve, release, refund, cancel), every
refusal, the bad paths (a worker who never delivers, a client who never approves, both parties after the
same money, replays), hostile contracts, and the Python side's ids and signatures against the contract's."""

from __future__ import annotations

import json
import os
from typing import Any

from eth_account import Account
from eth_utils import keccak

from paygo_desktop.chain.abi_signatures import signature_text
from paygo_desktop.chain.jobs import (
    MAX_DURATION,
    MAX_REVIEW_WINDOW,
    NO_DELIVERY,
    Job,
    JobsDomain,
    JobStatus,
    brief_hash,
    cancel_digest,
    cancel_typed_data,
    recover_cancel_signer,
    sign_cancel,
    verify_cancel,
)
from paygo_desktop.chain.vouchers import SECP256K1_N, ZERO_ADDRESS
from tests.chain.conftest import Env
from tests.chain.jobs_support import DAY, PRICE, Jobs, deploy_test_jobs

ANVIL_KEY0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
DELIVERY = keccak(text="the delivered file")


def events(jobs: Jobs, receipt: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """(event name, indexed topics) of each PayGoJobs log in ``receipt``."""
    names = {
        "0x" + keccak(text=signature_text(e)).hex(): e["name"]
        for e in jobs.client.contract.abi
        if e.get("type") == "event"
    }
    return [
        (names[log["topics"][0]], log["topics"][1:])
        for log in receipt["logs"]
        if log["address"].lower() == jobs.address.lower()
    ]


def usdc(env: Env, *accounts: Any) -> list[int]:
    return [env.usdc_balance(a if isinstance(a, str) else a.address) for a in accounts]


def topic(address: str) -> str:
    return "0x" + address[2:].lower().rjust(64, "0")


# ------------------------------------------------------------------------------------------ the ids


def test_the_python_ids_digests_and_signatures_are_the_contracts(jobs: Jobs) -> None:
    job = jobs.job(terms=brief_hash("translate-fr", "Translate the attached page into French."))
    contract = jobs.client.contract.functions
    assert bytes(jobs.env.run(contract.jobId(job.as_tuple()).call())) == job.id
    assert bytes(jobs.env.run(contract.domainSeparator().call())) == jobs.domain.separator
    for delivery in (NO_DELIVERY, DELIVERY):
        on_chain = bytes(jobs.env.run(contract.cancelDigest(job.id, delivery).call()))
        assert on_chain == cancel_digest(jobs.domain, job.id, delivery)
    # the brief's hash is fixed by the service and the text, nothing else
    assert brief_hash("a", "text") == brief_hash("a", "text") != brief_hash("b", "text")
    assert brief_hash("a", "text") != brief_hash("a", "text ")


def test_eth_sign_typed_data_v4_signs_the_same_cancel(jobs: Jobs) -> None:
    """Another implementation (anvil's eth_signTypedData_v4) signs the same Cancel, byte for byte, and the
    contract takes it."""
    env = jobs.env
    worker = Account.from_key(ANVIL_KEY0)
    job = jobs.job(worker=worker.address)
    jobs.fund(job)
    typed = cancel_typed_data(jobs.domain, job.id, NO_DELIVERY)
    node_sig = bytes.fromhex(env.rpc("eth_signTypedData_v4", [env.deployer, json.dumps(typed)])[2:])
    assert node_sig == sign_cancel(worker, jobs.domain, job.id, NO_DELIVERY)
    before = usdc(env, env.payer)[0]
    jobs.send(env.stranger, "cancel", job.as_tuple(), node_sig)
    assert usdc(env, env.payer)[0] == before + job.price


# ------------------------------------------------------------------------------------------ payouts


def test_delivered_then_approved_pays_the_worker_once(jobs: Jobs) -> None:
    env = jobs.env
    job = jobs.job()
    client0, worker0 = usdc(env, env.payer, env.provider)
    receipt = jobs.fund(job)
    assert events(jobs, receipt) == [("JobFunded", [job.id_hex, topic(job.client), topic(job.worker)])]
    assert usdc(env, env.payer, env.provider) == [client0 - PRICE, worker0]
    assert jobs.held() == PRICE
    assert jobs.state(job).status is JobStatus.FUNDED

    receipt = jobs.send(env.provider, "deliver", job.as_tuple(), DELIVERY)
    at = int(receipt["blockNumber"], 16)
    state = jobs.state(job)
    assert state.status is JobStatus.DELIVERED and state.delivery == DELIVERY
    assert state.delivered_at == int(env.rpc("eth_getBlockByNumber", [hex(at), False])["timestamp"], 16)
    assert state.review_ends_at(job) == state.delivered_at + job.review_window

    # only the client approves, and only the delivery it names
    jobs.send(env.provider, "approve", job.as_tuple(), DELIVERY, error="NotClient")
    jobs.send(env.stranger, "approve", job.as_tuple(), DELIVERY, error="NotClient")
    jobs.send(env.payer, "approve", job.as_tuple(), NO_DELIVERY, error="DeliveryMismatch")
    jobs.send(env.payer, "approve", job.as_tuple(), keccak(text="another file"), error="DeliveryMismatch")
    receipt = jobs.send(env.payer, "approve", job.as_tuple(), DELIVERY)
    assert [name for name, _ in events(jobs, receipt)] == ["JobApproved"]
    assert usdc(env, env.payer, env.provider) == [client0 - PRICE, worker0 + PRICE]
    assert jobs.held() == 0 and jobs.state(job).status is JobStatus.APPROVED

    # the money is gone: no second payout by any path, even once every time rule would allow it
    after = job.deadline + job.review_window + 1
    cancel = sign_cancel(env.provider, jobs.domain, job.id, DELIVERY)
    jobs.send(env.payer, "approve", job.as_tuple(), DELIVERY, error="WrongStatus")
    jobs.send(env.stranger, "release", job.as_tuple(), at=after, error="WrongStatus")
    jobs.send(env.payer, "refund", job.as_tuple(), error="WrongStatus")
    jobs.send(env.payer, "cancel", job.as_tuple(), cancel, error="WrongStatus")
    jobs.send(env.provider, "deliver", job.as_tuple(), DELIVERY, error="WrongStatus")
    assert usdc(env, env.payer, env.provider) == [client0 - PRICE, worker0 + PRICE]


def test_an_approval_just_before_the_deadline_without_a_delivery_on_chain(jobs: Jobs) -> None:
    """The client may pay for work it received another way, up to the last second; in ETH."""
    env = jobs.env
    job = jobs.job(token=ZERO_ADDRESS, price=3 * 10**17)
    jobs.fund(job)
    assert jobs.held(ZERO_ADDRESS) == job.price
    worker0 = env.eth(env.provider.address)
    jobs.send(env.payer, "approve", job.as_tuple(), NO_DELIVERY, at=job.deadline)
    assert env.eth(env.provider.address) == worker0 + job.price
    assert jobs.held(ZERO_ADDRESS) == 0
    jobs.send(env.stranger, "refund", job.as_tuple(), error="WrongStatus")


def test_a_worker_who_never_delivers_the_client_takes_the_refund_after_the_deadline(jobs: Jobs) -> None:
    env = jobs.env
    job = jobs.job(token=ZERO_ADDRESS, price=5 * 10**17)
    jobs.fund(job)
    client0 = env.eth(env.payer.address)
    # not a second early: at the deadline itself the worker may still deliver
    jobs.send(env.stranger, "refund", job.as_tuple(), at=job.deadline, error="DeadlineNotPassed")
    receipt = jobs.send(env.stranger, "refund", job.as_tuple(), at=job.deadline + 1)  # anyone may send it
    assert [name for name, _ in events(jobs, receipt)] == ["JobRefunded"]
    assert env.eth(env.payer.address) == client0 + job.price  # the stranger paid the gas
    assert jobs.held(ZERO_ADDRESS) == 0 and jobs.state(job).status is JobStatus.REFUNDED
    # then the worker is too late for everything
    jobs.send(env.provider, "deliver", job.as_tuple(), DELIVERY, error="WrongStatus")
    jobs.send(env.payer, "approve", job.as_tuple(), NO_DELIVERY, error="WrongStatus")
    jobs.send(env.stranger, "release", job.as_tuple(), error="WrongStatus")
    jobs.send(env.stranger, "refund", job.as_tuple(), error="WrongStatus")


def test_a_delivery_is_due_by_the_deadline_inclusive(jobs: Jobs) -> None:
    env = jobs.env
    on_time, late = jobs.job(), jobs.job()
    jobs.fund(on_time)
    jobs.fund(late)
    jobs.send(env.provider, "deliver", on_time.as_tuple(), DELIVERY, at=on_time.deadline)
    assert jobs.state(on_time).status is JobStatus.DELIVERED
    jobs.send(
        env.provider, "deliver", late.as_tuple(), DELIVERY, at=late.deadline + 1, error="DeadlinePassed"
    )
    # a delivered job is never refunded, even after its deadline; the late one is
    jobs.send(env.stranger, "refund", on_time.as_tuple(), error="WrongStatus")
    jobs.send(env.stranger, "refund", late.as_tuple())
    assert jobs.state(late).status is JobStatus.REFUNDED


def test_a_client_who_never_approves_the_worker_is_paid_when_the_review_window_ends(jobs: Jobs) -> None:
    env = jobs.env
    job = jobs.job(review_window=DAY)
    jobs.fund(job)
    client0, worker0, stranger0 = usdc(env, env.payer, env.provider, env.stranger)
    jobs.send(env.provider, "deliver", job.as_tuple(), DELIVERY)
    ends = jobs.state(job).review_ends_at(job)
    assert ends is not None
    jobs.send(env.provider, "release", job.as_tuple(), at=ends, error="ReviewNotOver")
    receipt = jobs.send(env.stranger, "release", job.as_tuple(), at=ends + 1)
    assert [name for name, _ in events(jobs, receipt)] == ["JobReleased"]
    assert usdc(env, env.payer, env.provider, env.stranger) == [client0, worker0 + PRICE, stranger0]
    assert jobs.state(job).status is JobStatus.RELEASED
    jobs.send(env.payer, "approve", job.as_tuple(), DELIVERY, error="WrongStatus")
    jobs.send(env.stranger, "release", job.as_tuple(), error="WrongStatus")


def test_a_review_window_of_zero_releases_the_next_second(jobs: Jobs) -> None:
    env = jobs.env
    job = jobs.job(review_window=0)
    jobs.fund(job)
    receipt = jobs.send(env.provider, "deliver", job.as_tuple(), DELIVERY)
    delivered = int(env.rpc("eth_getBlockByNumber", [receipt["blockNumber"], False])["timestamp"], 16)
    jobs.send(env.stranger, "release", job.as_tuple(), at=delivered + 1)
    assert jobs.state(job).status is JobStatus.RELEASED


# ------------------------------------------------------------------------------------------ cancellation


def test_the_workers_cancellation_refunds_the_client(jobs: Jobs) -> None:
    env = jobs.env
    job = jobs.job()
    jobs.fund(job)
    client0, worker0 = usdc(env, env.payer, env.provider)
    before_delivery = sign_cancel(env.provider, jobs.domain, job.id, NO_DELIVERY)
    assert verify_cancel(jobs.domain, job, NO_DELIVERY, before_delivery)
    receipt = jobs.send(env.payer, "cancel", job.as_tuple(), before_delivery)
    assert [name for name, _ in events(jobs, receipt)] == ["JobCancelled"]
    assert usdc(env, env.payer, env.provider) == [client0 + PRICE, worker0]
    assert jobs.state(job).status is JobStatus.CANCELLED
    # a replay, or any other payout after it, is refused
    jobs.send(env.stranger, "cancel", job.as_tuple(), before_delivery, error="WrongStatus")
    jobs.send(env.payer, "approve", job.as_tuple(), NO_DELIVERY, error="WrongStatus")
    jobs.send(env.stranger, "refund", job.as_tuple(), at=job.deadline + 1, error="WrongStatus")


def test_a_cancellation_is_bound_to_the_delivery_the_worker_saw(jobs: Jobs) -> None:
    """A cancellation offered before a delivery dies with the delivery: the client cannot keep the work and
    take the money back with an old offer. After a delivery the worker can still cancel, naming it."""
    env = jobs.env
    job = jobs.job()
    jobs.fund(job)
    offered_before = sign_cancel(env.provider, jobs.domain, job.id, NO_DELIVERY)
    jobs.send(env.provider, "deliver", job.as_tuple(), DELIVERY)
    jobs.send(env.payer, "cancel", job.as_tuple(), offered_before, error="InvalidSignature")
    other_delivery = sign_cancel(env.provider, jobs.domain, job.id, keccak(text="not it"))
    jobs.send(env.payer, "cancel", job.as_tuple(), other_delivery, error="InvalidSignature")
    client0 = usdc(env, env.payer)[0]
    jobs.send(env.payer, "cancel", job.as_tuple(), sign_cancel(env.provider, jobs.domain, job.id, DELIVERY))
    assert usdc(env, env.payer)[0] == client0 + PRICE
    # the worker cannot release what it cancelled
    jobs.send(env.provider, "release", job.as_tuple(), at=job.deadline + 10 * DAY, error="WrongStatus")


def test_only_the_workers_own_signature_for_this_job_here_cancels(jobs: Jobs) -> None:
    env = jobs.env
    job, other = jobs.job(), jobs.job()
    jobs.fund(job)
    jobs.fund(other)
    forged = {
        "the client's": sign_cancel(env.payer, jobs.domain, job.id, NO_DELIVERY),
        "a stranger's": sign_cancel(env.stranger, jobs.domain, job.id, NO_DELIVERY),
        "for another job": sign_cancel(env.provider, jobs.domain, other.id, NO_DELIVERY),
        "for another chain": sign_cancel(env.provider, JobsDomain(1, jobs.address), job.id, NO_DELIVERY),
        "for another contract": sign_cancel(
            env.provider, JobsDomain(env.chain_id, env.vault.address), job.id, NO_DELIVERY
        ),
        "empty": b"",
        "junk": os.urandom(65),
    }
    real = sign_cancel(env.provider, jobs.domain, job.id, NO_DELIVERY)
    r, s, v = real[:32], int.from_bytes(real[32:64], "big"), real[64]
    forged["malleated (high s)"] = r + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - v])
    for what, signature in forged.items():
        assert not verify_cancel(jobs.domain, job, NO_DELIVERY, signature), what
        jobs.send(env.payer, "cancel", job.as_tuple(), signature, error="InvalidSignature")
    assert recover_cancel_signer(jobs.domain, job.id, NO_DELIVERY, real) == env.provider.address
    jobs.send(env.payer, "cancel", job.as_tuple(), real)
    assert jobs.state(other).status is JobStatus.FUNDED  # the other job is untouched


def test_a_cancellation_for_one_deployment_is_refused_by_another(jobs: Jobs) -> None:
    env = jobs.env
    second = env.run(deploy_test_jobs(env.w3, env.deployer))
    env.transact(env.token(env.usdc).functions.approve(second, 2**256 - 1), env.payer)
    job = jobs.job()
    jobs.fund(job)
    copy = Jobs(env=env, client=type(jobs.client)(env.w3, second), address=second)
    copy.fund(job)  # the same terms, funded in the second contract too
    for_first = sign_cancel(env.provider, jobs.domain, job.id, NO_DELIVERY)
    copy.send(env.payer, "cancel", job.as_tuple(), for_first, error="InvalidSignature")
    jobs.send(env.payer, "cancel", job.as_tuple(), for_first)
    assert copy.state(job).status is JobStatus.FUNDED


# ------------------------------------------------------------------------------------------ refusals


def test_the_funding_rules(jobs: Jobs) -> None:
    env = jobs.env

    def fund(job: Job | Any, error: str, sender: Any = None, value: int | None = None) -> None:
        """``job``: a Job, or a function of the block time it is sent at (for the deadline rules)."""
        at = env.chain_time() + 1
        job = job(at) if callable(job) else job
        amount = value if value is not None else (job.price if job.token == ZERO_ADDRESS else 0)
        jobs.send(sender or job.client, "fund", job.as_tuple(), value=amount, at=at, error=error)

    def due(deadline_after: int, review_window: int = DAY) -> Any:
        base = jobs.job(review_window=review_window)
        return lambda at: Job(**{**base.__dict__, "deadline": at + deadline_after})

    fund(jobs.job(), "NotClient", sender=env.stranger)  # nobody funds a job in someone else's name
    fund(jobs.job(worker=ZERO_ADDRESS), "InvalidJob")
    fund(jobs.job(worker=env.payer), "InvalidJob")  # a client cannot hire itself
    fund(jobs.job(price=0), "ZeroPrice")
    fund(due(0), "DeadlinePassed")
    fund(due(MAX_DURATION + 1), "DeadlineTooFar")
    fund(jobs.job(review_window=MAX_REVIEW_WINDOW + 1), "ReviewWindowTooLong")
    fund(jobs.job(review_window=2**64 - 1), "ReviewWindowTooLong")
    eth_job = jobs.job(token=ZERO_ADDRESS, price=10**15)
    fund(eth_job, "WrongValue", value=10**15 - 1)
    fund(eth_job, "WrongValue", value=10**15 + 1)
    fund(jobs.job(), "WrongValue", value=1)  # ETH sent with a token job
    # the limits themselves are accepted
    at = env.chain_time() + 1
    longest = due(MAX_DURATION, MAX_REVIEW_WINDOW)(at)
    jobs.fund(longest, at=at)
    # a job is funded once, ever: again while open, and again once paid out
    jobs.send(env.payer, "fund", longest.as_tuple(), error="JobExists")
    jobs.send(env.payer, "approve", longest.as_tuple(), NO_DELIVERY)
    jobs.send(env.payer, "fund", longest.as_tuple(), error="JobExists")
    assert jobs.held() == 0


def test_a_fee_on_transfer_token_is_refused(jobs: Jobs) -> None:
    env = jobs.env
    fee_token = env.deploy("FeeOnTransferToken")
    token = env.token(fee_token, "FeeOnTransferToken")
    env.transact(token.functions.mint(env.payer.address, 10**9))
    env.transact(token.functions.approve(jobs.address, 2**256 - 1), env.payer)
    jobs.send(
        env.payer,
        "fund",
        jobs.job(token=fee_token, price=10**6).as_tuple(),
        error="FeeOnTransferNotSupported",
    )


def test_the_delivery_rules(jobs: Jobs) -> None:
    env = jobs.env
    job = jobs.job()
    jobs.send(env.provider, "deliver", job.as_tuple(), DELIVERY, error="WrongStatus")  # never funded
    jobs.fund(job)
    jobs.send(env.payer, "deliver", job.as_tuple(), DELIVERY, error="NotWorker")
    jobs.send(env.stranger, "deliver", job.as_tuple(), DELIVERY, error="NotWorker")
    jobs.send(env.provider, "deliver", job.as_tuple(), NO_DELIVERY, error="ZeroDelivery")
    jobs.send(env.provider, "deliver", job.as_tuple(), DELIVERY)
    # delivered once: no second delivery replaces the first (the review window would start again)
    jobs.send(env.provider, "deliver", job.as_tuple(), keccak(text="v2"), error="WrongStatus")
    assert jobs.state(job).delivery == DELIVERY
    # a job that was never funded has nothing to release, refund or cancel
    ghost = jobs.job()
    jobs.send(env.stranger, "release", ghost.as_tuple(), error="WrongStatus")
    jobs.send(env.stranger, "refund", ghost.as_tuple(), at=ghost.deadline + 1, error="WrongStatus")
    jobs.send(env.payer, "approve", ghost.as_tuple(), NO_DELIVERY, error="WrongStatus")


def test_terms_changed_after_funding_are_another_job(jobs: Jobs) -> None:
    """The id is the terms: the same job with a higher price, another worker or a later deadline is a job
    nobody funded, so nothing can be taken from the real one with altered terms."""
    env = jobs.env
    job = jobs.job()
    jobs.fund(job)
    for change in (
        {"price": job.price * 2},
        {"worker": env.stranger.address},
        {"deadline": job.deadline + DAY},
        {"review_window": 0},
        {"client": env.stranger.address},
    ):
        altered = Job(**{**job.__dict__, **change})
        assert altered.id != job.id
        sender = env.stranger if "client" in change else env.payer
        jobs.send(sender, "approve", altered.as_tuple(), NO_DELIVERY, error="WrongStatus")
        jobs.send(env.stranger, "refund", altered.as_tuple(), error="WrongStatus")
    assert jobs.held() == PRICE


# ------------------------------------------------------------------------------------------ hostile contracts


def test_a_reentrant_worker_is_paid_once(jobs: Jobs) -> None:
    """The worker is a contract that, when paid, calls back into PayGoJobs to be paid again (release,
    approve, cancel with a refund): the guard refuses every call and it gets the price once."""
    env = jobs.env
    worker = env.deploy("ReentrantProvider")
    hostile = env.token(worker, "ReentrantProvider")
    env.rpc("anvil_impersonateAccount", [worker])
    env.rpc("anvil_setBalance", [worker, hex(10**18)])
    job = jobs.job(worker=worker, token=ZERO_ADDRESS, price=10**17, review_window=60)
    other = jobs.job(worker=worker, token=ZERO_ADDRESS, price=10**17)
    jobs.fund(job)
    jobs.fund(other)
    jobs.send(worker, "deliver", job.as_tuple(), DELIVERY)
    ends = jobs.state(job).review_ends_at(job)
    assert ends is not None
    env.transact(hostile.functions.arm(jobs.address, jobs.client.call_data("release", job.as_tuple())))
    before = env.eth(worker)
    jobs.send(env.stranger, "release", job.as_tuple(), at=ends + 1)
    assert env.run(hostile.functions.attempted().call()) is True
    assert env.run(hostile.functions.reentrySucceeded().call()) is False
    assert env.eth(worker) == before + job.price
    # re-entering to release the other job while being paid for the first: refused as well
    env.transact(hostile.functions.arm(jobs.address, jobs.client.call_data("release", other.as_tuple())))
    jobs.send(env.payer, "approve", other.as_tuple(), NO_DELIVERY)
    assert env.run(hostile.functions.reentrySucceeded().call()) is False
    assert jobs.held(ZERO_ADDRESS) == 0


def test_a_reentrant_token_cannot_pay_twice(jobs: Jobs) -> None:
    env = jobs.env
    address = env.deploy("ReentrantToken")
    token = env.token(address, "ReentrantToken")
    env.transact(token.functions.mint(env.payer.address, 10**9))
    env.transact(token.functions.approve(jobs.address, 2**256 - 1), env.payer)
    job = jobs.job(token=address, price=1000)
    jobs.fund(job)
    # while the price goes to the worker, the token calls back to refund it to the client
    env.transact(token.functions.arm(jobs.address, jobs.client.call_data("refund", job.as_tuple())))
    jobs.send(env.payer, "approve", job.as_tuple(), NO_DELIVERY)
    assert env.run(token.functions.attempted().call()) is True
    assert env.run(token.functions.reentrySucceeded().call()) is False
    assert int(env.run(token.functions.balanceOf(env.provider.address).call())) == 1000
    assert int(env.run(token.functions.balanceOf(jobs.address).call())) == 0


def test_a_contract_wallet_worker_cancels_with_its_erc1271_answer(jobs: Jobs) -> None:
    env = jobs.env
    owner = env.provider2
    wallet = env.deploy("ERC1271Wallet", owner.address)
    job = jobs.job(worker=wallet)
    jobs.fund(job)
    signature = sign_cancel(owner, jobs.domain, job.id, NO_DELIVERY)
    assert not verify_cancel(jobs.domain, job, NO_DELIVERY, signature)  # ECDSA alone cannot know the wallet
    jobs.send(
        env.payer,
        "cancel",
        job.as_tuple(),
        sign_cancel(env.stranger, jobs.domain, job.id, NO_DELIVERY),
        error="InvalidSignature",
    )
    client0 = usdc(env, env.payer)[0]
    jobs.send(env.payer, "cancel", job.as_tuple(), signature)
    assert usdc(env, env.payer)[0] == client0 + PRICE
