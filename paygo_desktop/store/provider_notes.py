"""The provider record's rows: per session (or permission), what the provider's receipt or report said
beside what the app's own meter said, and the verdict (``reports.provider_record`` decides it)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.sqlite import insert

from paygo_desktop.store.database import Store
from paygo_desktop.store.models import ProviderNoteRow, utcnow

# the verdicts (``reports.provider_record`` says what each means)
AGREED, DISAGREED, OVER_CLAIMED, FORGED, REFUSED = "agreed", "disagreed", "over_claimed", "forged", "refused"
RENEGED = "reneged"


@dataclass(frozen=True)
class ProviderNote:
    provider_key: str  # the provider's payTo address (lower case), or its URL when it has none
    provider_url: str
    provider_name: str
    source: str  # session | zcash (later: job, x402)
    ref: str  # the session's local id, the permission's id
    verdict: str
    detail: str
    asset_symbol: str | None = None
    decimals: int | None = None
    meter_amount: int | None = None
    provider_amount: int | None = None
    at: datetime | None = None


class ProviderNotes:
    def __init__(self, store: Store) -> None:
        self._store = store

    def add(self, notes: Iterable[ProviderNote]) -> None:
        """Keep each note once (a session's verdict is written when it ends; recovery may say it again)."""
        rows = [
            {
                "at": note.at or utcnow(),
                "provider_key": note.provider_key,
                "provider_url": note.provider_url,
                "provider_name": note.provider_name[:200],
                "source": note.source,
                "ref": note.ref[:100],
                "verdict": note.verdict,
                "asset_symbol": note.asset_symbol,
                "decimals": note.decimals,
                "meter_amount": None if note.meter_amount is None else str(note.meter_amount),
                "provider_amount": None if note.provider_amount is None else str(note.provider_amount),
                "detail": note.detail[:2000],
            }
            for note in notes
        ]
        if rows:
            with self._store.session() as s:
                s.execute(insert(ProviderNoteRow).on_conflict_do_nothing(), rows)

    def all(self) -> list[ProviderNote]:
        """Every note, oldest first."""
        with self._store.session() as s:
            rows = s.scalars(select(ProviderNoteRow).order_by(ProviderNoteRow.at, ProviderNoteRow.id)).all()
            return [
                ProviderNote(
                    r.provider_key,
                    r.provider_url,
                    r.provider_name,
                    r.source,
                    r.ref,
                    r.verdict,
                    r.detail,
                    r.asset_symbol,
                    r.decimals,
                    None if r.meter_amount is None else int(r.meter_amount),
                    None if r.provider_amount is None else int(r.provider_amount),
                    r.at,
                )
                for r in rows
            ]
