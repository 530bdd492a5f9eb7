"""Where the app keeps its files: one data directory, laid out here and nowhere else."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

APP_DIR_NAME = "paygo-desktop"


def default_data_dir() -> Path:
    """The platform's per-user data directory (platformdirs), unless PAYGO_DATA_DIR says otherwise."""
    override = os.environ.get("PAYGO_DATA_DIR")
    if override:
        return Path(override).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP_DIR_NAME, appauthor=False))


@dataclass(frozen=True)
class DataDir:
    """Everything the app writes lives below ``root``."""

    root: Path

    @property
    def settings_file(self) -> Path:
        return self.root / "settings.json"

    @property
    def database_file(self) -> Path:
        return self.root / "paygo.sqlite3"

    @property
    def log_dir(self) -> Path:
        return self.root / "logs"

    @property
    def wallet_dir(self) -> Path:
        return self.root / "wallet"

    @property
    def sandbox_dir(self) -> Path:
        return self.root / "sandbox"

    def ensure(self) -> DataDir:
        """Create the directory tree, private to the user."""
        for d in (self.root, self.log_dir, self.wallet_dir):
            d.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(OSError):  # e.g. a filesystem without permissions
                d.chmod(0o700)
        return self
