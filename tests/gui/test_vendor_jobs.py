"""The Vendor page's Jobs tab against a real anvil (the vault, test USDC, PayGoJobs) and the real provider
over loopback, with the client on the Jobs page of the same wallet: nothing requested (the empty state);
the client requests and funds a job; the vendor sees it funded, accepts it, delivers a file chosen in the
file dialog; the client approves and the vendor sees it approved and paid."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QFileDialog, QPushButton

from paygo_desktop.context import AppContext
from paygo_desktop.sandbox.node import find_anvil
from tests.gui.conftest import PASSWORD
from tests.gui.escrow_chain import (  # noqa: F401 - fixtures
    PROVIDER,
    TIMEOUT,
    Chain,
    anvil_url,
    chain,
    escrow_chain,
)
from tests.gui.helpers import click
from tests.gui.helpers import complete_transaction as complete
from tests.gui.test_jobs_page import (  # noqa: F401 - fixtures
    FILE,
    PRICE,
    PROVIDER_KEY,
    _button,
    _state,
    jobs_contract,
    page,
    provider,
)

DAY = 86_400

pytestmark = pytest.mark.skipif(
    find_anvil() is None and not os.environ.get("CI"), reason="anvil not installed (npm ci)"
)


def _rows(panel: Any) -> list[list[str]]:
    table = panel.table
    columns = range(table.columnCount() - 1)
    return [[table.item(r, c).text() for c in columns] for r in range(table.rowCount())]


def _vendor_button(panel: Any, action: str) -> Any:
    box = panel.table.cellWidget(0, panel.table.columnCount() - 1)
    return box.findChild(QPushButton, f"vendor-job-{action}") if box is not None else None


def _vendor_state(panel: Any) -> str:
    rows = _rows(panel)
    return rows[0][3] if rows else ""


def _connect_vendor(qtbot: Any, jobs_page: Any, wallet_ctx: AppContext, url: str) -> Any:
    """The Vendor page connected to the provider at ``url`` with its key, its Jobs tab loaded; that tab."""
    window = jobs_page.window()
    wallet_ctx.wallet.import_private_key(PROVIDER_KEY, PASSWORD, "My provider")
    window.show_page("vendor")
    vendor = window.pages["vendor"]
    vendor.provider.setCurrentText(url)
    click(qtbot, vendor.connect_button)
    qtbot.waitUntil(lambda: vendor.overview is not None, timeout=TIMEOUT)
    assert vendor.message.text() == ""
    panel = vendor.jobs
    vendor.content.setCurrentWidget(panel)
    qtbot.waitUntil(lambda: panel.loaded, timeout=TIMEOUT)
    return panel


def _request_and_fund(qtbot: Any, jobs_page: Any) -> None:
    """The client, on its Jobs page, requests the translation job and locks its price."""
    jobs_page.window().show_page("jobs")
    click(qtbot, jobs_page.offers_button)
    qtbot.waitUntil(lambda: jobs_page.offer.count() == 2, timeout=TIMEOUT)
    texts = [jobs_page.offer.itemText(i) for i in range(jobs_page.offer.count())]
    jobs_page.offer.setCurrentIndex(
        texts.index("Translate one page — 40 USDC, within 2 days, 1 day to review it")
    )
    jobs_page.brief.setPlainText("Translate the attached page into French.")
    before = jobs_page.flow_dialog
    click(qtbot, jobs_page.request_button)
    qtbot.waitUntil(lambda: jobs_page.flow_dialog is not before, timeout=TIMEOUT)
    assert complete(qtbot, jobs_page.flow_dialog).phase == "done"
    qtbot.waitUntil(lambda: _state(jobs_page) == "Funded: waiting for the provider", timeout=TIMEOUT)


def _deliver(qtbot: Any, panel: Any, delivery: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The vendor delivers ``delivery``, chosen in the file dialog, to the accepted job."""
    delivery.write_bytes(FILE)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(delivery), ""))
    click(qtbot, _vendor_button(panel, "deliver-file"))
    qtbot.waitUntil(lambda: _vendor_state(panel) == "Delivered: in review", timeout=TIMEOUT)


def test_the_vendor_accepts_delivers_and_is_paid(
    qtbot: Any,
    page: Any,  # noqa: F811 - the client's Jobs page, in a main window
    wallet_ctx: AppContext,
    chain: Chain,  # noqa: F811
    provider: str,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    window = page.window()
    panel = _connect_vendor(qtbot, page, wallet_ctx, provider)
    vendor = window.pages["vendor"]
    assert panel.stack.currentWidget() is panel.empty and panel.empty.isVisible()  # nothing requested yet
    assert vendor.content.tabText(1) == "Jobs"

    # the client requests the job and locks its price
    _request_and_fund(qtbot, page)

    # the vendor sees it funded, with its price, deadline and review window, and accepts it
    window.show_page("vendor")
    panel.reload()
    qtbot.waitUntil(lambda: _vendor_state(panel) == "Funded: accept or decline", timeout=TIMEOUT)
    assert panel.stack.currentWidget() is panel.table
    [row] = _rows(panel)
    assert row[0] == "Translate one page\nTranslate the attached page into French."
    assert row[2] == "40 USDC" and row[5] == "1 day"
    assert row[1].startswith("0x") and row[4][:2] == "20"  # the client, a local date
    assert vendor.content.tabText(1) == "Jobs (1 to answer or deliver)"
    assert _vendor_button(panel, "deliver-file") is None
    click(qtbot, _vendor_button(panel, "accept"))
    qtbot.waitUntil(lambda: _vendor_state(panel) == "Accepted: deliver before the deadline", timeout=TIMEOUT)
    assert panel.message.text() == "Accepted the job."
    assert _vendor_button(panel, "accept") is None

    # deliver a file chosen in the file dialog
    _deliver(qtbot, panel, tmp_path / "page-fr.txt", monkeypatch)
    assert panel.message.text().startswith("Delivered page-fr.txt")
    assert _rows(panel)[0][4].startswith("review until ")
    assert _vendor_button(panel, "decline") is None  # nothing left to answer
    assert vendor.content.tabText(1) == "Jobs"

    # the client approves; the vendor sees it paid
    window.show_page("jobs")
    page.reread()
    qtbot.waitUntil(lambda: _state(page) == "Delivered: review it", timeout=TIMEOUT)
    provider0 = chain.usdc_balance(PROVIDER)
    before = page.flow_dialog
    click(qtbot, _button(page, "approve"))
    qtbot.waitUntil(lambda: page.flow_dialog is not before, timeout=TIMEOUT)
    assert complete(qtbot, page.flow_dialog).phase == "done"
    qtbot.waitUntil(lambda: _state(page) == "Approved: paid", timeout=TIMEOUT)
    assert chain.usdc_balance(PROVIDER) == provider0 + PRICE

    window.show_page("vendor")
    panel.reload()
    qtbot.waitUntil(lambda: _vendor_state(panel) == "Approved: paid", timeout=TIMEOUT)
    assert _vendor_button(panel, "accept") is None and _vendor_button(panel, "deliver-file") is None


def test_the_vendor_takes_the_price_once_the_review_window_has_passed(
    qtbot: Any,
    page: Any,  # noqa: F811 - the client's Jobs page, in a main window
    wallet_ctx: AppContext,
    chain: Chain,  # noqa: F811
    provider: str,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A delivery the client leaves unapproved: within the review window (one day, chain time) the vendor is
    not offered "Take the price"; once anvil's clock is past it, the vendor clicks it, the job ends
    released and the price is the provider's."""
    window = page.window()
    panel = _connect_vendor(qtbot, page, wallet_ctx, provider)
    _request_and_fund(qtbot, page)
    window.show_page("vendor")
    panel.reload()
    qtbot.waitUntil(lambda: _vendor_state(panel) == "Funded: accept or decline", timeout=TIMEOUT)
    click(qtbot, _vendor_button(panel, "accept"))
    qtbot.waitUntil(lambda: _vendor_state(panel) == "Accepted: deliver before the deadline", timeout=TIMEOUT)
    _deliver(qtbot, panel, tmp_path / "page-fr.txt", monkeypatch)

    # within the review window: not offered, before and after reading the jobs again
    assert _vendor_button(panel, "release") is None
    chain.advance(DAY - 120)  # nearly a day: the window is still open
    panel.loaded = False
    panel.reload()
    qtbot.waitUntil(lambda: panel.loaded, timeout=TIMEOUT)  # read again, at the later chain time
    assert _vendor_state(panel) == "Delivered: in review" and _vendor_button(panel, "release") is None

    # past it, with no approval: offered, and taken
    chain.advance(121 + 60)
    provider0 = chain.usdc_balance(PROVIDER)
    panel.reload()
    qtbot.waitUntil(lambda: _vendor_button(panel, "release") is not None, timeout=TIMEOUT)
    button = _vendor_button(panel, "release")
    assert button.text() == "Take the price" and button.isEnabled()
    click(qtbot, button)
    qtbot.waitUntil(lambda: _vendor_state(panel) == "Released: paid after the review window", timeout=TIMEOUT)
    assert panel.message.text() == "Released: the job's price is paid to the provider's address."
    assert chain.usdc_balance(PROVIDER) == provider0 + PRICE
    assert _vendor_button(panel, "release") is None  # nothing more to take

    # the client's page says so too
    window.show_page("jobs")
    page.reread()
    qtbot.waitUntil(lambda: _state(page) == "Paid after the review window", timeout=TIMEOUT)
