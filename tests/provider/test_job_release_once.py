"""A job's release is on its way at most once (provider/jobs.py, provider/job_release_tx.py), over real
loopback HTTP with PayGoJobs on the real anvil, its automine off so that a release stays in the node's pool
past the provider's wait for it (``release_receipt_wait``, short here):

- neither the next rounds nor the vendor's route send a second release while the first is in the pool (the
  route answers that it is on its way, with its hash); once mined, the job is settled and the worker paid
  once, from one transaction;
- a release the node dropped is sent again, but only once ``release_dropped_after`` seconds (the provider's
  clock) have passed without its nonce being used;
- a release whose nonce another transaction took (a replacement) is sent again at the next round.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from paygo_desktop.chain.jobs import JobStatus
from paygo_desktop.protocol import jobs as pj
from paygo_desktop.protocol.client import Conflict
from paygo_desktop.vendor import jobs as vendor_jobs
from tests.chain import jobs_support
from tests.chain.conftest import Env
from tests.chain.jobs_support import Jobs
from tests.provider.test_job_auto_release import (
    OFFER,
    chain_time_to,
    delivered_job,
    desk,
    rounds_pass,
    sent,
    settled,
)

jobs = jobs_support.jobs
_jobs_address = jobs_support._jobs_address
WAIT = 0.5  # release_receipt_wait of these tests: a release not mined within it is on its way
DROPPED_AFTER = 300  # release_dropped_after (the default), passed on the provider's fake clock


def pooled(env: Env, address: str) -> list[str]:
    """The hashes of ``address``'s transactions in anvil's pool (not mined), by nonce."""
    content = env.rpc("txpool_content")
    mine = {k.lower(): v for k, v in content.get("pending", {}).items()}.get(address.lower(), {})
    return [mine[n]["hash"].lower() for n in sorted(mine, key=int)]


def wait_pooled(env: Env, address: str, count: int) -> list[str]:
    deadline = time.monotonic() + 20
    while len(found := pooled(env, address)) < count:
        assert time.monotonic() < deadline, f"{count} transaction(s) never reached the pool: {found}"
        time.sleep(0.02)
    return found


class NoAutomine:
    """anvil mines only when told (``evm_mine``) inside the block; automine again after it."""

    def __init__(self, env: Env) -> None:
        self.env = env

    def __enter__(self) -> NoAutomine:
        self.env.rpc("evm_setAutomine", [False])
        return self

    def __exit__(self, *_: Any) -> None:
        self.env.rpc("evm_setAutomine", [True])


def assert_paid_once(env: Env, jobs: Jobs, job: Any, worker0: int, nonce0: int, releases: int) -> None:
    """The job released, the worker paid its price once, ``releases`` transactions of the provider's key."""
    assert jobs.state(job).status is JobStatus.RELEASED and jobs.held() == 0
    assert env.usdc_balance(env.provider.address) == worker0 + OFFER.price
    assert sent(env, env.provider.address) == nonce0 + releases
    assert sent(env, env.provider.address, "pending") == nonce0 + releases


def test_a_release_not_mined_in_time_is_not_sent_again_by_the_rounds_or_the_route(
    env: Env, jobs: Jobs, tmp_path: Path
) -> None:
    """The round's release waits in the pool past ``release_receipt_wait``: the rounds after it send nothing,
    the vendor's release answers that it is on its way (its hash), nothing is sent; mined, the job is
    settled and the worker paid once, by that one transaction."""
    with desk(env, jobs, tmp_path, release_receipt_wait=WAIT) as (server, api):
        info, job, ends = delivered_job(env, jobs, api)
        worker0 = env.usdc_balance(env.provider.address)
        nonce0 = sent(env, env.provider.address)
        with NoAutomine(env):
            chain_time_to(env, ends + 1)
            [release] = wait_pooled(env, env.provider.address, 1)
            time.sleep(2 * WAIT)  # the round's wait is over
            rounds_pass(server, 4)
            assert pooled(env, env.provider.address) == [release], "a second release was sent"
            with pytest.raises(Conflict, match="on its way") as answer:
                env.run(api.release(env.provider, info.job_id))
            assert release in str(answer.value).lower()
            assert pooled(env, env.provider.address) == [release]
            assert not settled(server, info.job_id)
            env.rpc("evm_mine")
        assert env.rpc("eth_getTransactionReceipt", [release])["status"] == "0x1"
        rounds_pass(server, 2, until=lambda: settled(server, info.job_id))
        assert settled(server, info.job_id)
        rounds_pass(server, 2)
        assert_paid_once(env, jobs, job, worker0, nonce0, releases=1)
        assert env.run(api.job(env.provider, info.job_id)).state is pj.JobState.released


def test_the_vendors_release_not_mined_in_time_is_on_its_way_and_sent_once(
    env: Env, jobs: Jobs, tmp_path: Path
) -> None:
    """No rounds: the vendor's release is not mined within the wait; the route answers that it is on its
    way (its hash), and so does the vendor's second click, which sends nothing; once it is mined, the next
    click answers the job released, and nothing more is sent."""
    with desk(env, jobs, tmp_path, auto_release_interval=0, release_receipt_wait=WAIT) as (_server, api):
        info, job, ends = delivered_job(env, jobs, api)
        worker0 = env.usdc_balance(env.provider.address)
        nonce0 = sent(env, env.provider.address)
        with NoAutomine(env):
            chain_time_to(env, ends + 1)
            with pytest.raises(Conflict, match="on its way") as first:
                env.run(api.release(env.provider, info.job_id))
            [release] = pooled(env, env.provider.address)
            assert release in str(first.value).lower()
            with pytest.raises(Conflict, match="on its way") as again:
                env.run(api.release(env.provider, info.job_id))
            assert release in str(again.value).lower()
            # the Vendor page's call: good news in its words, not the 409 shown as an error
            on_its_way = env.run(vendor_jobs.release(api.provider, env.provider, info.job_id))
            assert isinstance(on_its_way, vendor_jobs.ReleaseOnItsWay)
            assert vendor_jobs.release_said(on_its_way).startswith("The release is on its way")
            assert pooled(env, env.provider.address) == [release]
            env.rpc("evm_mine")
        done = env.run(vendor_jobs.release(api.provider, env.provider, info.job_id))
        assert isinstance(done, pj.JobInfo) and done.state is pj.JobState.released
        assert vendor_jobs.release_said(done).startswith("Released: the job's price is paid")
        with pytest.raises(Conflict):  # paid once: nothing left to release
            env.run(api.release(env.provider, info.job_id))
        assert_paid_once(env, jobs, job, worker0, nonce0, releases=1)


def test_a_dropped_release_is_sent_again_once_its_time_has_passed(
    env: Env, jobs: Jobs, tmp_path: Path
) -> None:
    """The node drops the round's release (anvil_dropTransaction): its nonce unused, the rounds wait for
    ``release_dropped_after`` (the node may only have lost sight of it), then send a new one; mined, the
    worker is paid once."""
    with desk(env, jobs, tmp_path, release_receipt_wait=WAIT) as (server, api):
        info, job, ends = delivered_job(env, jobs, api)
        worker0 = env.usdc_balance(env.provider.address)
        nonce0 = sent(env, env.provider.address)
        with NoAutomine(env):
            chain_time_to(env, ends + 1)
            [first] = wait_pooled(env, env.provider.address, 1)
            time.sleep(2 * WAIT)
            rounds_pass(server, 2)
            assert pooled(env, env.provider.address) == [first], "a second release was sent"
            env.rpc("anvil_dropTransaction", [first])
            assert pooled(env, env.provider.address) == []
            rounds_pass(server, 4)
            assert pooled(env, env.provider.address) == [], "sent again before release_dropped_after"
            server.clock.advance(DROPPED_AFTER + 1)
            wait_pooled(env, env.provider.address, 1)
            env.rpc("evm_mine")
        rounds_pass(server, 2, until=lambda: settled(server, info.job_id))
        assert settled(server, info.job_id)
        rounds_pass(server, 2)
        assert_paid_once(env, jobs, job, worker0, nonce0, releases=1)


def test_a_release_whose_nonce_another_transaction_took_is_sent_again(
    env: Env, jobs: Jobs, tmp_path: Path
) -> None:
    """The round's release is dropped and another transaction of the provider's key takes its nonce (mined):
    the release can never be mined, and the next round sends a new one without waiting; the worker is paid
    once."""
    with desk(env, jobs, tmp_path, release_receipt_wait=WAIT) as (server, api):
        info, job, ends = delivered_job(env, jobs, api)
        worker0 = env.usdc_balance(env.provider.address)
        nonce0 = sent(env, env.provider.address)
        with NoAutomine(env):
            chain_time_to(env, ends + 1)
            [first] = wait_pooled(env, env.provider.address, 1)
            time.sleep(2 * WAIT)
            rounds_pass(server, 2)
            assert pooled(env, env.provider.address) == [first], "a second release was sent"
            env.rpc("anvil_dropTransaction", [first])
            signed = env.provider.sign_transaction(
                {
                    "type": 2,
                    "chainId": env.chain_id,
                    "nonce": nonce0,
                    "to": env.provider.address,
                    "value": 0,
                    "gas": 21_000,
                    "maxFeePerGas": 200 * 10**9,
                    "maxPriorityFeePerGas": 10**9,
                }
            )
            other = env.rpc("eth_sendRawTransaction", ["0x" + bytes(signed.raw_transaction).hex()])
            env.rpc("evm_mine")
            assert env.rpc("eth_getTransactionReceipt", [other])["status"] == "0x1"
            [second] = wait_pooled(env, env.provider.address, 1)
            assert second != first
            env.rpc("evm_mine")
        rounds_pass(server, 2, until=lambda: settled(server, info.job_id))
        assert settled(server, info.job_id)
        rounds_pass(server, 2)
        assert_paid_once(env, jobs, job, worker0, nonce0, releases=2)  # the other transaction, the release


def test_a_release_never_broadcast_whose_nonce_was_used_is_given_up_on_a_pruning_node(env: Env) -> None:
    """A release recorded and never broadcast (a kill, a lost connection), its nonce then used by another
    transaction of the key (a claim), looked at long after: on a node that prunes old state and keeps no
    index by nonce, no block says who used the nonce. It was "on its way" for ever, the job's price locked
    in PayGoJobs; past ``release_dropped_after`` it is given up (a new release may go), and before that it
    waits as any other."""
    from web3 import AsyncHTTPProvider, AsyncWeb3

    from paygo_desktop.provider.job_release_tx import Fate, SentRelease, fate
    from tests.chain.lying_rpc import lying_rpc
    from tests.chain.test_transactions_hostile_node import method_not_found, pruning

    key = env.provider
    nonce = sent(env, key.address)
    claim = key.sign_transaction(
        {
            "type": 2,
            "chainId": env.chain_id,
            "nonce": nonce,
            "gas": 21_000,
            "maxFeePerGas": 10**10,
            "maxPriorityFeePerGas": 1,
            "to": key.address,
            "value": 0,
        }
    )
    env.rpc("eth_sendRawTransaction", ["0x" + bytes(claim.raw_transaction).hex()])
    env.rpc("anvil_mine", [hex(300)])
    never_sent = SentRelease("0x" + "ab" * 32, nonce, sent_at=1_000)
    with lying_rpc(env.url) as (url, proxy):
        pruning(proxy, env)
        for method in ("eth_getTransactionBySenderAndNonce", "ots_getTransactionBySenderAndNonce"):
            proxy.rewrites[method] = method_not_found
        w3 = AsyncWeb3(AsyncHTTPProvider(url))
        soon = never_sent.sent_at + DROPPED_AFTER - 1
        assert env.run(fate(w3, key.address, never_sent, soon, DROPPED_AFTER)) is Fate.ON_ITS_WAY
        late = never_sent.sent_at + DROPPED_AFTER + 1
        assert env.run(fate(w3, key.address, never_sent, late, DROPPED_AFTER)) is Fate.GONE
        proxy.rewrites.clear()  # a node that can say who used it: replaced, at once
        assert env.run(fate(w3, key.address, never_sent, soon, DROPPED_AFTER)) is Fate.GONE
