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

from paygo_desktop.errors import UserFacingError
from paygo_desktop.fileio import atomic_write_text
from paygo_desktop.peer_text import one_line

log = logging.getLogger(__name__)

THEMES = ("system", "light", "dark")
MAX_FEE_CEILINGS = 200  # network keys with a ceiling of their own (there are a few networks, not hundreds)
# The most a network's fee ceiling (the most the app signs per unit of gas there: ``networks``) may be set
# to: 100,000 gwei. Above what any EVM chain asks even in a rush (Ethereum's and Polygon's worst spikes
# were a few thousand gwei); a number beyond it is far likelier a slip (wei typed as gwei) than a need,
# and at it a plain 21,000-gas transfer may already cost 2.1 of the network's coin.
MAX_FEE_CEILING_WEI = 100_000 * 10**9


class FeeCeilingError(UserFacingError):
    """A fee ceiling that cannot be used, as typed or as found in the settings file."""


def check_fee_ceiling(wei: object) -> int:
    """``wei`` if it is a whole number of wei per unit of gas (an int: not a bool, never a float) above 0
    and at most ``MAX_FEE_CEILING_WEI``; else ``FeeCeilingError`` saying why."""
    if isinstance(wei, bool) or not isinstance(wei, int):
        raise FeeCeilingError("A fee ceiling is a whole number of wei per unit of gas.")
    if wei <= 0:
        raise FeeCeilingError("A fee ceiling must be above 0 gwei.")
    if wei > MAX_FEE_CEILING_WEI:
        raise FeeCeilingError(
            f"A fee ceiling may be at most {MAX_FEE_CEILING_WEI // 10**9} gwei per unit of gas "
            "(was wei typed as gwei?)."
        )
    return wei


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
    # network key -> wei per unit of gas: the fee ceiling the user set for that network instead of its own
    # (``networks.with_fee_ceiling``); each one checked when read (``check_fee_ceiling``)
    fee_ceilings: dict[str, int] = field(default_factory=dict)
    _extra: dict[str, Any] = field(default_factory=dict, repr=False)
    _path: Path | None = field(default=None, repr=False, compare=False)
    recovered_from: Path | None = field(default=None, repr=False, compare=False)
    # what was refused in the file when it was read (a value left out, its default used), said for the user
    refused: list[str] = field(default_factory=list, repr=False, compare=False)

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
        known = {f.name for f in fields(cls) if not f.name.startswith("_") and f.name not in _NOT_SAVED}
        defaults = cls()
        values: dict[str, Any] = {}
        refused: list[str] = []
        if "fee_ceilings" in raw:
            values["fee_ceilings"] = _fee_ceilings(raw["fee_ceilings"], refused)
        for name in known - {"fee_ceilings"}:
            if name in raw:
                value = raw[name]
                default = getattr(defaults, name)
                if default is not None and not isinstance(value, type(default)):
                    log.warning("setting %r has the wrong type; using the default", name)
                    continue
                values[name] = value
        settings = cls(**values)
        settings.refused = refused
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
        data = {k: v for k, v in asdict(self).items() if not k.startswith("_") and k not in _NOT_SAVED}
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

    def set_fee_ceiling(self, network_key: str, wei: int | None) -> None:
        """The fee ceiling for ``network_key`` (checked: ``FeeCeilingError``), or None: the network's own
        again. In memory only; write it with ``save`` (or ``snapshot``/``write``)."""
        if wei is None:
            self.fee_ceilings.pop(network_key, None)
            return
        if not network_key or len(network_key) > 60:
            raise FeeCeilingError("That network has no key a fee ceiling can be kept under.")
        if network_key not in self.fee_ceilings and len(self.fee_ceilings) >= MAX_FEE_CEILINGS:
            raise FeeCeilingError(f"Fee ceilings are kept for at most {MAX_FEE_CEILINGS} networks.")
        self.fee_ceilings[network_key] = check_fee_ceiling(wei)


_NOT_SAVED = ("recovered_from", "refused")


def _fee_ceilings(raw: object, refused: list[str]) -> dict[str, int]:
    """The file's fee ceilings, each checked; a refused one is left out (the network's own is used) and said
    in ``refused``."""
    if not isinstance(raw, dict):
        refused.append(
            "The fee ceilings in the settings file were not a list of networks and amounts; every network "
            "uses its own fee ceiling."
        )
        return {}
    kept: dict[str, int] = {}
    for key, wei in raw.items():
        if not isinstance(key, str) or not key or len(key) > 60 or len(kept) >= MAX_FEE_CEILINGS:
            refused.append("A fee ceiling in the settings file named no network the app can have; left out.")
            continue
        try:
            kept[key] = check_fee_ceiling(wei)
        except FeeCeilingError as exc:
            found = f"{wei} wei" if type(wei) is int else json.dumps(wei)[:40]
            refused.append(
                f"The fee ceiling set for the network “{one_line(key)}” in the settings file ({found}) was "
                f"refused: {exc} The network's own fee ceiling is used instead."
            )
    for line in refused:
        log.warning("%s", line)
    return kept
