"""Settings → Network → Fee ceiling: the network in use's ceiling shown, set in gwei and back to the network's
own; in use at once (the network the services are built on holds to it), written to the settings file in a
worker, never on the GUI thread (watched by ``gui.blocking_guard``: SQL through the store, a file opened),
and said once saved. A value typed wrong, or refused in the settings file, is said in words."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from paygo_desktop.gui.blocking_guard import BlockingCallGuard
from paygo_desktop.networks import BASE, GWEI
from paygo_desktop.settings import Settings
from tests.gui.helpers import TIMEOUT


@pytest.fixture
def written_in(monkeypatch: Any) -> list[int]:
    """The threads the settings file is written in (the real atomic write, each call noted)."""
    import paygo_desktop.settings as settings_module

    real, threads = settings_module.atomic_write_text, []

    def noted(*args: Any, **kwargs: Any) -> None:
        threads.append(threading.get_ident())
        real(*args, **kwargs)

    monkeypatch.setattr(settings_module, "atomic_write_text", noted)
    return threads


def settings_page(qtbot: Any, window: Any) -> Any:
    window.show_page("settings")
    page = window.settings_page
    settled(qtbot, page)
    qtbot.waitUntil(lambda: page.loaded, timeout=TIMEOUT)
    return page


def settled(qtbot: Any, page: Any) -> None:
    window, writes = page.window(), getattr(page, "writes", None)
    qtbot.waitUntil(lambda: not (writes and writes.busy) and not window.runner.busy, timeout=TIMEOUT)


def on_disk(page: Any) -> dict[str, Any]:
    return dict(json.loads(page.ctx.data_dir.settings_file.read_text("utf-8")))


def choose(combo: Any, key: str) -> None:
    index = combo.findData(key)
    assert index >= 0, key
    combo.setCurrentIndex(index)
    combo.activated.emit(index)


def test_a_ceiling_set_is_used_at_once_and_saved_off_the_gui_thread(
    qtbot: Any, unlocked_window: Any, written_in: list[int]
) -> None:
    window = unlocked_window
    page = settings_page(qtbot, window)
    assert page.ceiling_edit.text() == "100"  # the sandbox's own
    choose(page.network_combo, BASE.key)
    settled(qtbot, page)
    assert page.ceiling_edit.text() == "5" and "The network's own: 5 gwei" in page.ceiling_hint.text()
    assert not page.ceiling_default.isEnabled()  # it is the network's own already

    guard = BlockingCallGuard(window.ctx.store.engine, watch_signing=False).start()
    try:
        page.ceiling_edit.setText("2.5")
        page.ceiling_save.click()
        assert window.ctx.network.max_fee_per_gas_ceiling == 2_500_000_000  # in use at once
        settled(qtbot, page)
        qtbot.wait(20)  # anything the write set off on the GUI thread
    finally:
        guard.stop()
    assert not guard.violations, "\n".join(guard.violations)
    assert written_in and threading.get_ident() not in written_in
    assert on_disk(page)["fee_ceilings"] == {"base": 2_500_000_000}
    message = page.ceiling_message
    assert message.isVisible() and message.objectName() != "ErrorText"
    assert message.text() == "Saved: on Base the app signs at most 2.5 gwei per unit of gas."
    assert window.ctx.activity.recent(1)[0].message == "Fee ceiling on Base set to 2.5 gwei"
    assert page.ceiling_default.isEnabled()

    page.ceiling_default.click()
    settled(qtbot, page)
    assert window.ctx.network.max_fee_per_gas_ceiling == 5 * GWEI
    assert page.ceiling_edit.text() == "5"
    assert on_disk(page)["fee_ceilings"] == {}
    assert "at most 5 gwei per unit of gas (its own)" in page.ceiling_message.text()


def test_a_ceiling_set_holds_the_session_engine_built_before_it(qtbot: Any, unlocked_window: Any) -> None:
    """The Sessions page keeps one engine per network and account; one built before the change (a session
    started earlier) signs its next deposit or close at the new ceiling, not the one it was built with."""
    window = unlocked_window
    qtbot.waitUntil(lambda: bool(window.ctx.settings.active_account), timeout=TIMEOUT)  # read in a worker
    built: list[Any] = []
    window.runner.run(
        window.sessions.engine(), on_success=built.append, on_error=built.append, name="test-engine"
    )
    qtbot.waitUntil(lambda: bool(built), timeout=TIMEOUT)
    engine = built[0]
    assert not isinstance(engine, str), engine
    assert engine.chain.transaction_manager().max_fee_per_gas_ceiling == 100 * GWEI
    page = settings_page(qtbot, window)
    page.ceiling_edit.setText("7")
    page.ceiling_save.click()
    settled(qtbot, page)
    assert engine.chain.transaction_manager().max_fee_per_gas_ceiling == 7 * GWEI
    built.clear()
    window.runner.run(
        window.sessions.engine(), on_success=built.append, on_error=built.append, name="test-engine"
    )
    qtbot.waitUntil(lambda: bool(built), timeout=TIMEOUT)
    assert built[0] is engine  # the same engine (its running sessions with it), held to the new ceiling


@pytest.mark.parametrize(
    ("typed", "words"), [("abc", "not a number of gwei"), ("0", "above 0"), ("250000", "at most 100000 gwei")]
)
def test_a_ceiling_typed_wrong_is_said_and_changes_nothing(
    qtbot: Any, unlocked_window: Any, typed: str, words: str
) -> None:
    window = unlocked_window
    page = settings_page(qtbot, window)
    page.ceiling_edit.setText(typed)
    page.ceiling_save.click()
    settled(qtbot, page)
    message = page.ceiling_message
    assert message.isVisible() and message.objectName() == "ErrorText" and words in message.text()
    assert window.ctx.settings.fee_ceilings == {}
    assert window.ctx.network.max_fee_per_gas_ceiling == 100 * GWEI


def test_a_ceiling_refused_in_the_settings_file_is_said_on_the_page(qtbot: Any, unlocked_window: Any) -> None:
    window = unlocked_window
    path = window.ctx.data_dir.settings_file
    path.write_text(json.dumps({"network": "sandbox", "fee_ceilings": {"sandbox": 10**40}}))
    window.ctx.settings = Settings.load(path)  # as the next start reads it
    window.ctx.invalidate_network()
    page = settings_page(qtbot, window)
    message = page.ceiling_message
    assert message.isVisible() and message.objectName() == "ErrorText"
    assert "fee ceiling set for the network “sandbox”" in message.text()
    assert "own fee ceiling is used" in message.text()
    assert page.ceiling_edit.text() == "100"
