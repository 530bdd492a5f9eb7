"""Wallet test fixtures: real files in tmp_path, a real SQLite store, cheap scrypt, an in-memory keyring."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from wallet_test_support import CHEAP_KDF, PASSWORD, TEST_MNEMONIC

from paygo_desktop.store import Store
from paygo_desktop.store.accounts import AccountRepository
from paygo_desktop.wallet import Wallet


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(tmp_path / "paygo.sqlite3")
    yield s
    s.close()


@pytest.fixture
def accounts(store: Store) -> AccountRepository:
    return AccountRepository(store)


@pytest.fixture
def wallet_dir(tmp_path: Path) -> Path:
    return tmp_path / "wallet"


@pytest.fixture
def wallet(wallet_dir: Path, accounts: AccountRepository) -> Wallet:
    return Wallet(wallet_dir, accounts, kdf=CHEAP_KDF)


@pytest.fixture
def hd_wallet(wallet: Wallet) -> Wallet:
    wallet.create_from_mnemonic(TEST_MNEMONIC, PASSWORD)
    return wallet


@pytest.fixture
def no_keyring() -> Iterator[None]:
    """keyring's "fail" backend, what a machine without any keychain gets."""
    import keyring
    from keyring.backends import fail

    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    yield
    keyring.set_keyring(previous)
