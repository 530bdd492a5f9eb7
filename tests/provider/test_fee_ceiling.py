"""The provider's fee ceiling (provider/fee_ceiling.py, ``max_fee_per_gas_gwei``), over real loopback HTTP
with the real provider on the real anvil, its node behind a loopback proxy that lies about fees
(tests/chain/lying_rpc.py): a huge base fee in the latest block, or a huge eth_maxPriorityFeePerGas.

- its claim rounds, unattended, send nothing (the provider's nonce and ETH unchanged), each says why in a
  warning (the node's fee, the ceiling, the setting to raise); the vendor's Claim now answers 503
  ``fee_above_ceiling``; with an honest node the next round claims;
- a job's delivery and release (the rounds' and the vendor's route) are not sent either, the route answers
  503 ``fee_above_ceiling``; with an honest node the release goes through;
- a fee at or under the ceiling (a lower ``max_fee_per_gas_gwei``) is the line.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from paygo_desktop.chain.jobs import JobStatus
from paygo_desktop.protocol import jobs as pj
from paygo_desktop.protocol.client import ProviderClient, ProviderHTTPError
from paygo_desktop.protocol.jobs_client import JobsProviderClient
from tests.chain import jobs_support
from tests.chain.conftest import Env
from tests.chain.jobs_support import Jobs
from tests.chain.lying_rpc import LyingRpc, lying_rpc
from tests.provider.conftest import Server, provider_server
from tests.provider.test_job_auto_release import DIGEST, OFFER, chain_time_to, rounds_pass, sent
from tests.provider.test_vendor_vouchers import paid_session

jobs = jobs_support.jobs
_jobs_address = jobs_support._jobs_address
GWEI = 10**9
HUGE = 500 * GWEI  # wei per gas the lying node reports: the provider would sign at 1000+ gwei


def huge_base_fee(_request: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
    result = answer.get("result")
    if isinstance(result, dict) and "baseFeePerGas" in result:
        return {**answer, "result": {**result, "baseFeePerGas": hex(HUGE)}}
    return answer


def huge_tip(_request: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
    return {**answer, "result": hex(HUGE)}


LIES = {
    "base-fee": ("eth_getBlockByNumber", huge_base_fee),
    "tip": ("eth_maxPriorityFeePerGas", huge_tip),
}


@contextmanager
def lying_provider(env: Env, tmp_path: Path, **config: Any) -> Iterator[tuple[Server, LyingRpc]]:
    """The provider with its node (``rpc_url``) behind the lying proxy (honest until told)."""
    with lying_rpc(env.url) as (url, proxy), provider_server(env, tmp_path, rpc_url=url, **config) as server:
        yield server, proxy


def ceiling_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.WARNING and "max_fee_per_gas_gwei" in r.getMessage()
    ]


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def claimed(env: Env, ch: Any) -> int:
    return int(env.run(env.vault.channel_state(ch)).claimed)


@pytest.mark.parametrize("lie", list(LIES))
def test_a_node_lying_about_fees_gets_no_claim_signed_until_it_answers_honestly(
    env: Env, tmp_path: Path, caplog: pytest.LogCaptureFixture, lie: str
) -> None:
    """The claim rounds run unattended every 0.3 s behind a node whose fee quote is 1000+ gwei (the ceiling
    on this local chain: 100 gwei): round after round nothing is signed, the provider's ETH and nonce stay
    as they were, each round warns with the node's fee, the ceiling and the setting; the vendor's Claim now
    answers 503 fee_above_ceiling. Once the node answers honestly the next round claims the voucher."""
    caplog.set_level(logging.INFO, logger="paygo_desktop.provider")
    method, rewrite = LIES[lie]
    with lying_provider(env, tmp_path, claim_interval=0.3) as (server, proxy):
        proxy.rewrites[method] = rewrite  # before any voucher: no round ever saw an honest quote
        client = ProviderClient(server.url, timeout=10)
        try:
            assert server.config.max_fee_per_gas == 100 * GWEI  # anvil's chain: the local networks' ceiling
            nonce0, eth0 = sent(env, env.provider.address), env.eth(env.provider.address)
            ch, total = paid_session(server, client, 2)
            seen = len(ceiling_warnings(caplog))
            wait_for(  # three rounds refused, or (the bug) a claim sent
                lambda: len(ceiling_warnings(caplog)) >= seen + 3 or claimed(env, ch) > 0,
                "the rounds neither warned of the fee nor claimed",
            )
            assert claimed(env, ch) == 0, "a claim was signed at the lying node's fee"
            with pytest.raises(ProviderHTTPError) as refused:
                env.run(client.claim_now(env.provider))
            assert (refused.value.status, refused.value.code) == (503, "fee_above_ceiling")
            assert "above its fee ceiling of 100 gwei" in refused.value.provider_message
            assert "max_fee_per_gas_gwei" in refused.value.provider_message
            assert sent(env, env.provider.address, "pending") == nonce0
            assert env.eth(env.provider.address) == eth0
            assert claimed(env, ch) == 0
            assert "eth_sendRawTransaction" not in proxy.calls
            warning = ceiling_warnings(caplog)[-1]
            assert "scheduled claim" in warning and "Tried again at the next round" in warning
            assert "gwei per unit of gas, above its fee ceiling of 100 gwei" in warning
            asked = warning.split("asks up to ")[1].split(" gwei")[0]
            assert int(asked.split(".")[0]) >= (1000 if lie == "base-fee" else 500)  # the node's fee, said

            proxy.rewrites.clear()  # the node answers honestly again
            wait_for(lambda: claimed(env, ch) == total, "the next round did not claim")
            assert sent(env, env.provider.address) == nonce0 + 1
            assert env.eth(env.provider.address) < eth0  # its gas, at the honest price
        finally:
            env.run(client.aclose())


def quoting(base_fee: int, tip: int) -> dict[str, Any]:
    """Rewrites making the provider's quote ``2 × base_fee + tip`` (chain.fees.quote_fees)."""

    def block(_request: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
        result = answer.get("result")
        if isinstance(result, dict) and "baseFeePerGas" in result:
            return {**answer, "result": {**result, "baseFeePerGas": hex(base_fee)}}
        return answer

    return {
        "eth_getBlockByNumber": block,
        "eth_maxPriorityFeePerGas": lambda _request, answer: {**answer, "result": hex(tip)},
    }


def test_the_ceiling_set_in_the_config_is_the_line(env: Env, tmp_path: Path) -> None:
    """``max_fee_per_gas_gwei = "2.5"``: a quote of 2.5 gwei and 1 wei is refused (503, nothing sent), one of
    2.5 gwei exactly is sent and claims."""
    with lying_provider(env, tmp_path, max_fee_per_gas_gwei="2.5") as (server, proxy):
        client = ProviderClient(server.url, timeout=10)
        try:
            assert server.config.max_fee_per_gas == 2_500_000_000
            ch, total = paid_session(server, client, 2)
            nonce0 = sent(env, env.provider.address)
            proxy.rewrites.update(quoting(GWEI, GWEI // 2 + 1))
            with pytest.raises(ProviderHTTPError) as refused:
                env.run(client.claim_now(env.provider))
            assert refused.value.code == "fee_above_ceiling"
            message = refused.value.provider_message
            assert "asks up to 2.500000001 gwei per unit of gas, above its fee ceiling of 2.5 gwei" in message
            assert sent(env, env.provider.address, "pending") == nonce0 and claimed(env, ch) == 0

            proxy.rewrites.update(quoting(GWEI, GWEI // 2))
            result = env.run(client.claim_now(env.provider))
            assert result.channels == ["0x" + ch.id.hex()] and claimed(env, ch) == total
            tx = env.rpc("eth_getTransactionByHash", [result.tx_hash])
            assert int(tx["maxFeePerGas"], 16) == 2_500_000_000  # the quote, explicit: not web3's own
            assert int(tx["maxPriorityFeePerGas"], 16) == GWEI // 2
            assert sent(env, env.provider.address) == nonce0 + 1
        finally:
            env.run(client.aclose())


@pytest.mark.parametrize("lie", list(LIES))
def test_a_node_lying_about_fees_gets_no_job_delivery_or_release_signed(
    env: Env, jobs: Jobs, tmp_path: Path, caplog: pytest.LogCaptureFixture, lie: str
) -> None:
    """Behind the lying node: the vendor's delivery answers 503 fee_above_ceiling, nothing sent; honest, it
    goes. Lying again once the review window has passed: the release rounds send nothing (the provider's
    nonce and ETH unchanged) and warn, the vendor's route answers 503 fee_above_ceiling; honest again, the
    next round releases the job."""
    caplog.set_level(logging.INFO, logger="paygo_desktop.provider")
    method, rewrite = LIES[lie]
    config = {"jobs_contract": jobs.address, "auto_release_interval": 0.2}
    with lying_provider(env, tmp_path, **config) as (server, proxy):
        client = ProviderClient(server.url, timeout=10)
        api = JobsProviderClient(client)
        run = env.run
        try:
            offer = run(api.create_offer(env.provider, OFFER))
            info = run(api.request_job(env.payer, offer.id, "Translate my page into French"))
            job = info.job.to_job()
            jobs.fund(job)
            run(api.accept(env.provider, info.job_id))
            nonce0, eth0 = sent(env, env.provider.address), env.eth(env.provider.address)

            proxy.rewrites[method] = rewrite
            proxy.calls.clear()
            with pytest.raises(ProviderHTTPError) as refused:
                run(api.deliver_link(env.provider, info.job_id, "https://files.example/fr.txt", DIGEST))
            assert (refused.value.status, refused.value.code) == (503, "fee_above_ceiling")
            assert "above its fee ceiling of 100 gwei" in refused.value.provider_message
            assert (
                sent(env, env.provider.address, "pending") == nonce0 and env.eth(env.provider.address) == eth0
            )
            assert jobs.state(job).status is JobStatus.FUNDED and "eth_sendRawTransaction" not in proxy.calls

            proxy.rewrites.clear()
            delivered = run(
                api.deliver_link(env.provider, info.job_id, "https://files.example/fr.txt", DIGEST)
            )
            assert delivered.state is pj.JobState.delivered and delivered.review_ends_at is not None
            nonce1, eth1 = sent(env, env.provider.address), env.eth(env.provider.address)
            assert nonce1 == nonce0 + 1

            proxy.rewrites[method] = rewrite
            proxy.calls.clear()
            seen = len(ceiling_warnings(caplog))
            chain_time_to(env, delivered.review_ends_at + 1)
            wait_for(lambda: len(ceiling_warnings(caplog)) >= seen + 3, "the release rounds did not warn")
            assert any("jobs: release round stopped" in w for w in ceiling_warnings(caplog)[seen:])
            with pytest.raises(ProviderHTTPError) as refused:
                run(api.release(env.provider, info.job_id))
            assert (refused.value.status, refused.value.code) == (503, "fee_above_ceiling")
            assert "max_fee_per_gas_gwei" in refused.value.provider_message
            assert sent(env, env.provider.address, "pending") == nonce1
            assert env.eth(env.provider.address) == eth1
            assert jobs.state(job).status is JobStatus.DELIVERED
            assert "eth_sendRawTransaction" not in proxy.calls

            worker0 = env.usdc_balance(env.provider.address)
            proxy.rewrites.clear()
            rounds_pass(server, 3, until=lambda: jobs.state(job).status is JobStatus.RELEASED)
            assert jobs.state(job).status is JobStatus.RELEASED
            assert env.usdc_balance(env.provider.address) == worker0 + OFFER.price
            assert sent(env, env.provider.address) == nonce1 + 1
        finally:
            run(client.aclose())
