"""Shared test set-up: Qt runs offscreen; nothing touches the user's real data directory."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# The tests pass --data-dir or tmp paths everywhere; this only guards against a slip writing to $HOME.
os.environ.setdefault("PAYGO_DATA_DIR", os.path.join(os.environ.get("TMPDIR", "/tmp"), "paygo-test-data"))


@pytest.fixture
def memory_keyring() -> Iterator[object]:
    """An in-memory keyring backend. A fake: no OS keychain (Secret Service, Keychain, Credential Manager)
    runs in this test environment, so keyring's real backends cannot be exercised here."""
    import keyring
    from keyring.backend import KeyringBackend
    from keyring.errors import PasswordDeleteError

    class MemoryKeyring(KeyringBackend):
        priority = 1  # type: ignore[assignment]

        def __init__(self) -> None:
            super().__init__()
            self.items: dict[tuple[str, str], str] = {}

        def get_password(self, service: str, username: str) -> str | None:
            return self.items.get((service, username))

        def set_password(self, service: str, username: str, password: str) -> None:
            self.items[(service, username)] = password

        def delete_password(self, service: str, username: str) -> None:
            if self.items.pop((service, username), None) is None:
                raise PasswordDeleteError(username)

    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)
