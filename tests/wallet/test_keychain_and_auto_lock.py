from __future__ import annotations

import pytest

from paygo_desktop.wallet.auto_lock import IdleLockPolicy
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


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_idle_lock_policy() -> None:
    clock = FakeClock()
    policy = IdleLockPolicy(5, clock=clock)
    assert policy.seconds_until_lock() == 300
    clock.now += 299
    assert not policy.should_lock()
    policy.note_activity()
    clock.now += 299
    assert policy.seconds_until_lock() == 1
    clock.now += 1
    assert policy.should_lock()
    clock.now += 100
    assert policy.seconds_until_lock() == 0


def test_zero_minutes_never_locks() -> None:
    clock = FakeClock()
    policy = IdleLockPolicy(0, clock=clock)
    clock.now += 10**9
    assert policy.seconds_until_lock() is None
    assert not policy.should_lock()
    with pytest.raises(ValueError):
        IdleLockPolicy(-1)
