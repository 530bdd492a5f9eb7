"""Price feed rounds as they stood at past blocks: read once from the chain, kept (history does not move)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.dialects.sqlite import insert

from paygo_desktop.store.database import Store
from paygo_desktop.store.models import FeedReadingRow


@dataclass(frozen=True)
class StoredReading:
    answer: int | None  # None: the feed had no round then
    decimals: int
    updated_at: int
    round_id: int


class FeedReadings:
    def __init__(self, store: Store) -> None:
        self._store = store

    def get(self, chain_id: int, feed: str, block: int) -> StoredReading | None:
        """What was kept for ``feed`` at ``block``; None when it was never read."""
        with self._store.session() as s:
            row = s.scalar(
                select(FeedReadingRow).where(
                    FeedReadingRow.chain_id == chain_id,
                    FeedReadingRow.feed == feed,
                    FeedReadingRow.block_number == block,
                )
            )
            if row is None:
                return None
            answer = None if row.answer is None else int(row.answer)
            return StoredReading(answer, row.decimals, row.updated_at, int(row.round_id))

    def put(self, chain_id: int, feed: str, block: int, reading: StoredReading) -> None:
        values = {
            "chain_id": chain_id,
            "feed": feed,
            "block_number": block,
            "answer": None if reading.answer is None else str(reading.answer),
            "decimals": reading.decimals,
            "updated_at": reading.updated_at,
            "round_id": str(reading.round_id),
        }
        with self._store.session() as s:
            s.execute(insert(FeedReadingRow).on_conflict_do_nothing(), [values])
