from __future__ import annotations

import pytest

from paygo_desktop.wallet.errors import WalletError
from paygo_desktop.wallet.keychain import SERVICE_NAME, PasswordKeychain


def test_remember_recall_forget(memory_keyring) -> None:  # type: ignore[no-untyped-def]
    chain = PasswordKeychain()
    assert chain.available()
    assert chain.recall("w1") is None
    chain.remember("w1", "hunter2-hunter2")
    assert memory_keyring.items[(SERVICE_NAME, "w1")] == "hunter2-hunter2"
    assert chain.recall("w1") == "hunter2-hunter2"
    chain.forget("w1")
    assert chain.recall("w1") is None
    chain.forget("w1")  # forgetting twice is fine


def test_without_a_keychain_nothing_crashes(no_keyring: None) -> None:
    chain = PasswordKeychain()
    assert not chain.available()
    with pytest.raises(WalletError, match="no keychain"):
        chain.remember("w1", "pw")
    assert chain.recall("w1") is None
    chain.forget("w1")


def test_a_backend_that_raises_is_contained() -> None:
    class Broken:
        def get_password(self, *_: object) -> str:
            raise RuntimeError("dbus went away")

        def set_password(self, *_: object) -> None:
            raise RuntimeError("dbus went away")

    chain = PasswordKeychain(backend=Broken())
    assert chain.recall("w1") is None
    with pytest.raises(WalletError, match="refused"):
        chain.remember("w1", "pw")
