"""The user's preferences: one JSON file in the data directory, read once and written atomically.

Unknown keys (from a newer version) are kept on save. A corrupt file is set aside, not lost, and the
defaults are used; ``Settings.load`` reports that through ``recovered_from``.

``save()`` writes them as they are now. The GUI writes off its thread in two steps: ``snapshot()`` (the
file's text as the settings are now, numbered; no I/O) where the change is made, ``write(snapshot)`` in a
worker. Writes are one at a time, and a snapshot older than one already written is not written (the newer
one holds everything it did): whichever order the workers run in, the file ends with the last change.
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from paygo_desktop.fileio import atomic_write_text

log = logging.getLogger(__name__)

THEMES = ("system", "light", "dark")


@dataclass(frozen=True)
class SettingsSnapshot:
    """The settings file's text at one moment; ``number`` orders the moments."""

    number: int
    text: str


@dataclass
class Settings:
    network: str = "sandbox"
    active_account: str | None = None
    idle_lock_minutes: int = 10
    remember_password: bool = False
    theme: str = "system"
    window_geometry: str | None = None
    providers: list[str] = field(default_factory=list)  # provider URLs the user added
    display_currency: str = "USD"  # fiat values beside amounts (prices.feeds.CURRENCIES)
    _extra: dict[str, Any] = field(default_factory=dict, repr=False)
    _path: Path | None = field(default=None, repr=False, compare=False)
    recovered_from: Path | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:  # not fields: neither compared nor copied by ``asdict``
        self._numbers = itertools.count(1)  # next() on it is atomic: snapshots may be taken in any thread
        self._write_lock = threading.Lock()
        self._written = 0  # the number of the snapshot on disk (0: none written by this object)

    @classmethod
    def load(cls, path: Path) -> Settings:
        path = Path(path)
        if not path.exists():
            return cls(_path=path)
        try:
            raw = json.loads(path.read_text("utf-8"))
            if not isinstance(raw, dict):
                raise ValueError("settings file does not hold a JSON object")
            settings = cls._from_dict(raw)
        except (ValueError, UnicodeDecodeError, OSError) as exc:
            aside = path.with_name(f"{path.name}.corrupt-{int(time.time())}")
            try:
                path.replace(aside)
            except OSError:
                aside = path
            log.warning("settings file %s was unreadable (%s); set aside as %s", path, exc, aside.name)
            settings = cls()
            settings.recovered_from = aside
        settings._path = path
        return settings

    @classmethod
    def _from_dict(cls, raw: dict[str, Any]) -> Settings:
        known = {f.name for f in fields(cls) if not f.name.startswith("_") and f.name != "recovered_from"}
        defaults = cls()
        values: dict[str, Any] = {}
        for name in known:
            if name in raw:
                value = raw[name]
                default = getattr(defaults, name)
                if default is not None and not isinstance(value, type(default)):
                    log.warning("setting %r has the wrong type; using the default", name)
                    continue
                values[name] = value
        settings = cls(**values)
        settings._extra = {k: v for k, v in raw.items() if k not in known}
        if settings.theme not in THEMES:
            settings.theme = "system"
        if not (len(settings.display_currency) == 3 and settings.display_currency.isascii()):
            settings.display_currency = "USD"
        settings.display_currency = settings.display_currency.upper()
        settings.idle_lock_minutes = max(0, min(settings.idle_lock_minutes, 24 * 60))
        settings.providers = [p for p in settings.providers if isinstance(p, str) and p.startswith("http")][
            :200
        ]
        return settings

    def to_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in asdict(self).items() if not k.startswith("_") and k != "recovered_from"}
        return {**self._extra, **data}

    @property
    def path(self) -> Path | None:
        return self._path

    def snapshot(self) -> SettingsSnapshot:
        """The file's text as the settings are now (no I/O: cheap on the GUI thread), for ``write``."""
        return SettingsSnapshot(
            next(self._numbers), json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"
        )

    def write(self, snapshot: SettingsSnapshot) -> bool:
        """Write ``snapshot`` atomically (blocking: in a worker in the GUI), one write at a time; one older
        than a snapshot already written is left out. Whether it was written; ``OSError`` if it failed."""
        if self._path is None:
            raise RuntimeError("these settings have no file")
        with self._write_lock:
            if snapshot.number <= self._written:
                return False
            atomic_write_text(self._path, snapshot.text)
            self._written = snapshot.number
            return True

    def save(self) -> None:
        """Write the settings as they are now (blocking)."""
        self.write(self.snapshot())
