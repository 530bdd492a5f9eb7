"""The Jobs page against a real anvil (the vault, test USDC and PayGoJobs) and the real provider over
loopback: request a job from an offer, lock its price in the transaction dialog, see the provider's
delivery with the review reminder, download it (checked against the hash on chain), approve and pay."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from paygo_desktop.context import AppContext
from paygo_desktop.protocol import jobs as pj
from paygo_desktop.protocol.client import ProviderClient
from paygo_desktop.protocol.jobs_client import JobsProviderClient
from paygo_desktop.provider.config import ProviderConfig
from paygo_desktop.sandbox.node import find_anvil
from paygo_desktop.store.deployments import DeploymentRepository
from tests.chain.conftest import _free_port
from tests.gui.conftest import PASSWORD, TEST_ADDRESS
from tests.gui.escrow_chain import (  # noqa: F401 - fixtures
    PROVIDER,
    TIMEOUT,
    Chain,
    anvil_url,
    chain,
    escrow_chain,
    point_at,
)
from tests.gui.helpers import click
from tests.gui.helpers import complete_transaction as complete
from tests.provider.conftest import run_server

pytestmark = pytest.mark.skipif(
    find_anvil() is None and not os.environ.get("CI"), reason="anvil not installed (npm ci)"
)
# anvil's second account (PROVIDER): the provider's key
PROVIDER_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
PRICE = 40 * 10**6
FILE = b"La page, traduite.\n" * 20


def _in_thread(coro: Any) -> Any:
    """Run ``coro`` on its own event loop, away from the Qt one."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def _deploy_jobs(url: str, deployer: str) -> str:
    from web3 import AsyncHTTPProvider, AsyncWeb3

    from tests.chain.jobs_support import deploy_test_jobs

    w3 = AsyncWeb3(AsyncHTTPProvider(url))
    try:
        return await deploy_test_jobs(w3, deployer)
    finally:
        await w3.provider.disconnect()


@pytest.fixture(scope="session")
def jobs_contract(escrow_chain: Chain) -> str:  # noqa: F811
    return str(_in_thread(_deploy_jobs(escrow_chain.url, escrow_chain.deployer)))


def _vendor(url: str, work: Any) -> Any:
    async def go() -> Any:
        async with ProviderClient(url, timeout=10) as client:
            return await work(JobsProviderClient(client))

    return _in_thread(go())


@pytest.fixture
def provider(chain: Chain, jobs_contract: str, tmp_path: Path) -> Iterator[str]:  # noqa: F811
    from paygo_desktop.provider.app import create_app

    port = _free_port()
    config = ProviderConfig.model_validate(
        {
            "name": "Translations",
            "private_key": PROVIDER_KEY,
            "rpc_url": chain.url,
            "chain_id": 31337,
            "vault": chain.vault,
            "assets": [{"symbol": "USDC", "address": chain.usdc, "decimals": 6}],
            "database": str(tmp_path / "provider.sqlite3"),
            "public_base_url": f"http://127.0.0.1:{port}",
            "claim_interval": 3600,
            "jobs_contract": jobs_contract,
        }
    )
    server, thread = run_server(create_app(config), port)
    url = f"http://127.0.0.1:{port}"
    offer = pj.JobOfferFields(
        name="Translate one page",
        category="translation",
        price=PRICE,
        asset="USDC",
        delivery_seconds=2 * 86400,
        review_window_seconds=86400,
    )
    _vendor(url, lambda api: api.create_offer(Account.from_key(PROVIDER_KEY), offer))
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def page(
    qtbot: Any,
    wallet_ctx: AppContext,
    chain: Chain,  # noqa: F811
    jobs_contract: str,
    provider: str,
    event_loop_qt: Any,
    tmp_path: Path,
) -> Iterator[Any]:
    from paygo_desktop.gui.main_window import MainWindow

    point_at(wallet_ctx, chain, provider_url=provider)
    DeploymentRepository(wallet_ctx.store).save("sandbox", 31337, "PayGoJobs", jobs_contract)
    window = MainWindow(wallet_ctx, poll_network=False)
    qtbot.addWidget(window)
    window.start()
    window.show()
    if wallet_ctx.wallet.is_locked:
        wallet_ctx.wallet.unlock(PASSWORD)
    window.show_app("home")
    assert "jobs" not in window.pages  # built only when first shown
    window.show_page("jobs")
    page = window.pages["jobs"]
    page.poll_ms = 100
    page.download_dir = tmp_path / "downloads"
    qtbot.waitUntil(lambda: page.loaded, timeout=TIMEOUT)
    yield page
    qtbot.waitUntil(lambda: not window.runner.busy, timeout=TIMEOUT)


def _state(page: Any) -> str:
    return str(page.table.item(0, 3).text()) if page.table.rowCount() else ""


def _button(page: Any, action: str) -> Any:
    from PySide6.QtWidgets import QPushButton

    box = page.table.cellWidget(0, page.table.columnCount() - 1)
    return box.findChild(QPushButton, f"job-{action}")


def test_request_fund_download_and_approve_a_job(
    qtbot: Any,
    page: Any,
    chain: Chain,  # noqa: F811
    provider: str,
    tmp_path: Path,
) -> None:
    assert page.empty.isVisible() and not page.table.isVisible()
    assert page.provider.currentText() == provider
    click(qtbot, page.offers_button)
    qtbot.waitUntil(lambda: page.offer.count() == 2, timeout=TIMEOUT)  # the demo catalog's and ours
    texts = [page.offer.itemText(i) for i in range(page.offer.count())]
    assert "Proofread one page — 5 USDC, within 1 day, 1 day to review it" in texts
    page.offer.setCurrentIndex(texts.index("Translate one page — 40 USDC, within 2 days, 1 day to review it"))

    click(qtbot, page.request_button)  # no brief yet: said so, nothing asked
    assert "Write the brief" in page.notice.text()
    page.brief.setPlainText("Translate the attached page into French.")
    before = page.flow_dialog
    click(qtbot, page.request_button)
    qtbot.waitUntil(lambda: page.flow_dialog is not before, timeout=TIMEOUT)
    flow = page.flow_dialog
    assert flow.state.steps == 2  # an exact approval of PayGoJobs, then the funding
    qtbot.waitUntil(lambda: flow.state.phase == "review", timeout=TIMEOUT)
    assert "Allow PayGo Jobs to take 40 USDC" in flow.description.text()
    usdc0 = chain.usdc_balance(TEST_ADDRESS)
    assert complete(qtbot, flow).phase == "done"
    qtbot.waitUntil(lambda: _state(page) == "Funded: waiting for the provider", timeout=TIMEOUT)
    assert chain.usdc_balance(TEST_ADDRESS) == usdc0 - PRICE
    job_id = page.views[0].job_id

    vendor = Account.from_key(PROVIDER_KEY)
    _vendor(provider, lambda api: api.accept(vendor, job_id))
    _vendor(provider, lambda api: api.deliver_file(vendor, job_id, "page-fr.txt", FILE))
    page.reread()
    qtbot.waitUntil(lambda: _state(page) == "Delivered: review it", timeout=TIMEOUT)
    assert page.reminder.isVisible() and "review window ends" in page.reminder.text()

    click(qtbot, _button(page, "download"))
    qtbot.waitUntil(lambda: "Saved to" in page.notice.text(), timeout=TIMEOUT)
    saved = list((page.download_dir).iterdir())
    assert [p.read_bytes() for p in saved] == [FILE]
    qtbot.waitUntil(
        lambda: page.views[0].record.download_sha256 == hashlib.sha256(FILE).digest(), timeout=TIMEOUT
    )

    provider0 = chain.usdc_balance(PROVIDER)
    before = page.flow_dialog
    click(qtbot, _button(page, "approve"))
    qtbot.waitUntil(lambda: page.flow_dialog is not before, timeout=TIMEOUT)
    assert complete(qtbot, page.flow_dialog).phase == "done"
    qtbot.waitUntil(lambda: _state(page) == "Approved: paid", timeout=TIMEOUT)
    assert chain.usdc_balance(PROVIDER) == provider0 + PRICE
    assert _button(page, "approve") is None and not page.reminder.isVisible()

    # the paid job's proof file, from its row: verified as anyone would
    from paygo_desktop.receipts.proof import read_proof
    from paygo_desktop.receipts.verify import verify_file

    assert _button(page, "proof") is not None
    target = tmp_path / "job-proof.json"
    page.export_proof(job_id, path=str(target))
    qtbot.waitUntil(lambda: "Wrote the job's proof" in page.notice.text(), timeout=TIMEOUT)
    assert verify_file(target.read_bytes()).ok and read_proof(target.read_bytes())["jobId"] == job_id
