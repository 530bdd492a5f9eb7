"""The first-run wizard end to end, on real widgets, a real store and a wallet with cheap scrypt."""

from __future__ import annotations

import json
from typing import Any

from paygo_desktop.onboarding import Choice, Step
from tests.gui.conftest import PASSWORD, TEST_ADDRESS, TEST_MNEMONIC
from tests.gui.helpers import click, finish_from_password, go_to_password, home_addresses


def test_create_wallet_end_to_end(qtbot: Any, window: Any) -> None:
    window.start()
    assert window.mode == "onboarding"
    view = window.onboarding
    click(qtbot, view.welcome.buttons[Choice.CREATE])
    assert view.machine.step is Step.SHOW_MNEMONIC
    words = view.show_mnemonic.grid.words
    assert len(words) == 12 and all(w.isalpha() for w in words)
    assert view.show_mnemonic.grid.isVisible()
    click(qtbot, view.next_button)
    assert view.machine.step is Step.CONFIRM_WORDS
    fields = view.confirm_words.fields
    assert fields, "the wizard asks for some words"
    for position, field in fields.items():
        qtbot.keyClicks(field, words[position - 1])
    click(qtbot, view.next_button)
    assert view.machine.step is Step.PASSWORD
    finish_from_password(qtbot, window, PASSWORD)

    accounts = window.ctx.accounts.list()
    assert len(accounts) == 1
    qtbot.waitUntil(lambda: home_addresses(window) == [accounts[0].address], timeout=5_000)
    assert window.status.account_button.text().startswith(accounts[0].address[:6])
    assert not window.ctx.wallet.is_locked
    assert window.ctx.settings.network == "sandbox"
    messages = [item.message for item in window.ctx.activity.recent()]
    assert any("Created a new wallet" in m for m in messages)


def test_wrong_confirmation_word_is_refused(qtbot: Any, window: Any) -> None:
    window.start()
    view = window.onboarding
    click(qtbot, view.welcome.buttons[Choice.CREATE])
    words = view.show_mnemonic.grid.words
    click(qtbot, view.next_button)
    positions = list(view.confirm_words.fields)
    for position, field in view.confirm_words.fields.items():
        field.setText(words[position - 1])
    wrong = "zoo" if words[positions[0] - 1] != "zoo" else "abandon"
    view.confirm_words.fields[positions[0]].setText(wrong)
    click(qtbot, view.next_button)
    assert view.machine.step is Step.CONFIRM_WORDS
    assert view.error.isVisible()
    assert f"#{positions[0]}" in view.error.text()
    assert window.ctx.accounts.list() == []


def test_password_mismatch_and_strength_are_shown(qtbot: Any, window: Any) -> None:
    window.start()
    view = window.onboarding
    click(qtbot, view.welcome.buttons[Choice.IMPORT_MNEMONIC])
    view.enter_mnemonic.phrase.setPlainText(TEST_MNEMONIC)
    click(qtbot, view.next_button)
    assert view.machine.step is Step.PASSWORD
    qtbot.keyClicks(view.password.password, "short")
    assert "5 of at least" in view.password.strength.text()
    qtbot.keyClicks(view.password.confirm, "other")
    assert "differ" in view.password.mismatch.text()
    click(qtbot, view.next_button)
    assert view.machine.step is Step.PASSWORD
    assert view.error.isVisible()
    # the refusal is said once: the strength line counts characters, it does not repeat the error
    assert "short" not in view.password.strength.text().lower()
    # and once the user types on, the old refusal goes away instead of standing beside "Strength: strong"
    qtbot.keyClicks(view.password.password, "-Much-Longer-Passphrase-42")
    assert view.password.strength.text() == "Strength: strong"
    assert not view.error.isVisible()


def test_import_mnemonic(qtbot: Any, window: Any) -> None:
    window.start()
    view = window.onboarding
    click(qtbot, view.welcome.buttons[Choice.IMPORT_MNEMONIC])
    view.enter_mnemonic.phrase.setPlainText("  " + TEST_MNEMONIC.upper() + "\n")
    click(qtbot, view.next_button)
    finish_from_password(qtbot, window, PASSWORD)
    qtbot.waitUntil(lambda: TEST_ADDRESS in home_addresses(window), timeout=5_000)


def test_import_mnemonic_with_a_typo_shows_error(qtbot: Any, window: Any) -> None:
    window.start()
    view = window.onboarding
    click(qtbot, view.welcome.buttons[Choice.IMPORT_MNEMONIC])
    view.enter_mnemonic.phrase.setPlainText(TEST_MNEMONIC.replace("junk", "junkk"))
    click(qtbot, view.next_button)
    assert view.machine.step is Step.ENTER_MNEMONIC
    assert view.error.text()


HARDHAT_KEY_1 = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
HARDHAT_ADDRESS_1 = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


def test_import_private_key(qtbot: Any, window: Any) -> None:
    window.start()
    view = window.onboarding
    click(qtbot, view.welcome.buttons[Choice.IMPORT_PRIVATE_KEY])
    view.enter_private_key.key.setText(HARDHAT_KEY_1)
    click(qtbot, view.next_button)
    finish_from_password(qtbot, window, PASSWORD)
    qtbot.waitUntil(lambda: home_addresses(window) == [HARDHAT_ADDRESS_1], timeout=5_000)


def test_import_keystore_file(qtbot: Any, window: Any, tmp_path: Any, monkeypatch: Any) -> None:
    """A keystore is opened in a worker (scrypt), the wizard moved on the GUI thread only."""
    import threading

    from eth_account import Account

    keystore = Account.encrypt(HARDHAT_KEY_1, "file password", kdf="pbkdf2", iterations=2)
    path = tmp_path / "keystore.json"
    path.write_text(json.dumps(keystore))
    window.start()
    view = window.onboarding
    moved_in: list[int] = []  # the threads the wizard's step or error is changed in
    for name in ("_go", "_fail"):
        real = getattr(view.machine, name)
        monkeypatch.setattr(
            view.machine, name, lambda *a, real=real: (moved_in.append(threading.get_ident()), real(*a))[1]
        )
    click(qtbot, view.welcome.buttons[Choice.IMPORT_KEYSTORE])
    view.enter_keystore.path.setText(str(path))
    view.enter_keystore.password.setText("wrong")
    click(qtbot, view.next_button)
    qtbot.waitUntil(lambda: not view._working and view.error.isVisible(), timeout=10_000)
    assert view.machine.step is Step.ENTER_KEYSTORE
    view.enter_keystore.password.setText("file password")
    click(qtbot, view.next_button)
    go_to_password(qtbot, view)
    assert moved_in and set(moved_in) == {threading.get_ident()}
    finish_from_password(qtbot, window, PASSWORD)
    qtbot.waitUntil(lambda: home_addresses(window) == [HARDHAT_ADDRESS_1], timeout=5_000)


def test_back_returns_to_welcome(qtbot: Any, window: Any) -> None:
    window.start()
    view = window.onboarding
    click(qtbot, view.welcome.buttons[Choice.IMPORT_PRIVATE_KEY])
    assert view.back_button.isVisible()
    click(qtbot, view.back_button)
    assert view.machine.step is Step.WELCOME
    assert not view.back_button.isVisible()
