"""Tokens the user added by address, per network: what their contract said, once the user confirmed it."""

from __future__ import annotations

from sqlalchemy import select

from paygo_desktop.money import Asset
from paygo_desktop.store.database import Store
from paygo_desktop.store.models import CustomTokenRow


class CustomTokenRepository:
    def __init__(self, store: Store) -> None:
        self._store = store

    def assets(self, network: str, chain_id: int) -> tuple[Asset, ...]:
        """The added tokens of ``network`` (on ``chain_id``), oldest first."""
        with self._store.session() as s:
            rows = s.scalars(
                select(CustomTokenRow)
                .where(CustomTokenRow.network == network, CustomTokenRow.chain_id == chain_id)
                .order_by(CustomTokenRow.id)
            ).all()
            return tuple(Asset(r.symbol, r.decimals, r.address) for r in rows)

    def add(self, network: str, chain_id: int, asset: Asset, name: str) -> None:
        """Add ``asset`` (or replace what was stored for its address)."""
        if asset.address is None:
            raise ValueError("the native coin is not added by address")
        with self._store.session() as s:
            row = s.scalar(
                select(CustomTokenRow).where(
                    CustomTokenRow.network == network,
                    CustomTokenRow.chain_id == chain_id,
                    CustomTokenRow.address == asset.address,
                )
            )
            if row is None:
                row = CustomTokenRow(network=network, chain_id=chain_id, address=asset.address)
                s.add(row)
            row.symbol, row.decimals, row.name = asset.symbol, asset.decimals, name

    def remove(self, network: str, chain_id: int, address: str) -> None:
        with self._store.session() as s:
            row = s.scalar(
                select(CustomTokenRow).where(
                    CustomTokenRow.network == network,
                    CustomTokenRow.chain_id == chain_id,
                    CustomTokenRow.address == address,
                )
            )
            if row is not None:
                s.delete(row)
