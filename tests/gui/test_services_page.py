"""The Services page against the real reference provider and a hostile one, driven like a person would."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt

from tests.gui.helpers import click
from tests.services.test_catalog import hostile_server, reference_provider  # noqa: F401 - fixtures


def services(window: Any) -> Any:
    window.show_page("services")
    return window.pages["services"]


def rows(page: Any) -> list[list[str]]:
    model = page.model
    return [[model.cell(e, c) for c in range(model.columnCount())] for e in model.rows]


def test_no_providers_is_an_honest_empty_state(unlocked_window: Any) -> None:
    page = services(unlocked_window)
    assert page.stack.currentWidget() is page.empty and page.empty.isVisible()


def test_adding_a_provider_lists_its_services_and_filters_work(
    qtbot: Any,
    unlocked_window: Any,
    reference_provider: str,  # noqa: F811
) -> None:
    page = services(unlocked_window)
    page.provider_url.setText("not a url")
    click(qtbot, page.add_button)
    assert "https://" in page.message.text()
    page.provider_url.setText(reference_provider)
    click(qtbot, page.add_button)
    qtbot.waitUntil(lambda: page.model.rowCount() >= 12, timeout=15_000)
    assert page.stack.currentWidget() is page.table
    assert unlocked_window.ctx.settings.providers == [reference_provider]
    assert page.status.text().startswith(f"{page.model.rowCount()} of {page.model.rowCount()} services")
    first = rows(page)[0]
    assert first[4].endswith(("/ second", "/ minute", "/ hour")) and first[5]

    qtbot.keyClicks(page.search, "radio")
    assert 0 < page.model.rowCount() < 12
    assert all("radio" in (e.service.name + e.service.description).lower() for e in page.model.rows)
    page.search.clear()
    page.type.setCurrentIndex(page.type.findData("video"))
    assert page.model.rows and all(e.service.type.value == "video" for e in page.model.rows)
    page.type.setCurrentIndex(0)
    page.sort.setCurrentIndex(page.sort.findData("price"))
    usdc = [e.per_hour.units for e in page.model.rows if e.asset.symbol == "USDC" and e.per_hour is not None]
    assert usdc == sorted(usdc)  # per-request services (x402) have no hourly price to sort by
    qtbot.keyClicks(page.search, "zzzz-nothing")
    assert page.stack.currentWidget() is page.no_match


def test_a_hostile_provider_is_reported_and_shows_no_markup(
    qtbot: Any,
    unlocked_window: Any,
    reference_provider: str,  # noqa: F811
    hostile_server: str,  # noqa: F811
) -> None:
    ctx = unlocked_window.ctx
    ctx.settings.providers = [hostile_server, reference_provider, hostile_server + "/nested"]
    page = services(unlocked_window)
    qtbot.waitUntil(lambda: page.model.rowCount() >= 13, timeout=15_000)
    text = page.message.text()
    assert page.message.isVisible() and "/nested" in text and "6 listed services were skipped" in text
    assert page.message.textFormat() == Qt.TextFormat.PlainText
    assert not any("<" in cell for row in rows(page) for cell in row)
    assert "Plain service" in [row[0] for row in rows(page)]
