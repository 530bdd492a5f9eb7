"""“Remember on this computer”: the wallet password in the OS keychain, through ``keyring``.

On a machine without a keychain (a headless CI runner, a bare Linux session) ``available()`` is False,
``remember`` raises a ``WalletError`` saying so, and ``recall`` returns None: the app asks for the password
as usual and never crashes. keyring is imported lazily; its backends load on first use.
"""

from __future__ import annotations

import logging
from typing import Any

from paygo_desktop.wallet.errors import WalletError

log = logging.getLogger(__name__)

SERVICE_NAME = "PayGo Desktop"


class PasswordKeychain:
    """The wallet password, stored under service ``SERVICE_NAME`` and username = the wallet id."""

    def __init__(self, service: str = SERVICE_NAME, backend: Any = None) -> None:
        self._service = service
        self._backend = backend  # a keyring.backend.KeyringBackend; None means keyring's configured one

    def _keyring(self) -> Any:
        if self._backend is not None:
            return self._backend
        import keyring

        return keyring.get_keyring()

    def available(self) -> bool:
        """Whether a usable keychain backend exists (not keyring's "fail" backend)."""
        try:
            from keyring.backends import fail

            backend = self._keyring()
            if isinstance(backend, fail.Keyring):
                return False
            chained = getattr(backend, "backends", None)  # keyring's ChainerBackend with nothing behind it
            return not (chained is not None and len(chained) == 0)
        except Exception as exc:  # any backend failure means: no keychain
            log.info("no OS keychain available: %s", exc.__class__.__name__)
            return False

    def remember(self, wallet_id: str, password: str) -> None:
        if not self.available():
            raise WalletError("This computer has no keychain to remember the password in.")
        try:
            self._keyring().set_password(self._service, wallet_id, password)
        except Exception as exc:
            raise WalletError(
                f"The keychain refused to store the password ({exc.__class__.__name__})."
            ) from None

    def recall(self, wallet_id: str) -> str | None:
        if not self.available():
            return None
        try:
            value = self._keyring().get_password(self._service, wallet_id)
        except Exception as exc:
            log.warning("could not read the password from the keychain: %s", exc.__class__.__name__)
            return None
        return value if isinstance(value, str) else None

    def forget(self, wallet_id: str) -> None:
        """Remove the remembered password, if any; silent when there is none or no keychain."""
        if not self.available():
            return
        try:
            self._keyring().delete_password(self._service, wallet_id)
        except Exception as exc:  # keyring.errors.PasswordDeleteError when nothing was stored
            log.debug("nothing to forget in the keychain: %s", exc.__class__.__name__)
