"""Custom networks the user saved; together with the built-in ones they make the network list."""

from __future__ import annotations

from sqlalchemy import select

from paygo_desktop.networks import BUILTIN_NETWORKS, Network, known_assets
from paygo_desktop.store.database import Store
from paygo_desktop.store.models import NetworkRow


class NetworkRepository:
    def __init__(self, store: Store) -> None:
        self._store = store

    def all(self) -> list[Network]:
        with self._store.session() as s:
            rows = s.scalars(select(NetworkRow).order_by(NetworkRow.id)).all()
            custom = [
                Network(
                    key=r.key,
                    name=r.name,
                    chain_id=r.chain_id,
                    rpc_url=r.rpc_url,
                    explorer_url=r.explorer_url,
                    is_builtin=False,
                    tokens=known_assets(r.chain_id),
                    vault_address=r.vault_address,
                )
                for r in rows
            ]
        return [*BUILTIN_NETWORKS, *custom]

    def get(self, key: str) -> Network | None:
        return next((n for n in self.all() if n.key == key), None)

    def save_custom(self, network: Network) -> None:
        """Add or replace a custom network (verify its chain id first: networks.verify_custom_network)."""
        if network.is_builtin or any(n.key == network.key for n in BUILTIN_NETWORKS):
            raise ValueError("built-in networks are not stored")
        with self._store.session() as s:
            row = s.scalar(select(NetworkRow).where(NetworkRow.key == network.key))
            if row is None:
                row = NetworkRow(key=network.key)
                s.add(row)
            row.name = network.name
            row.chain_id = network.chain_id
            row.rpc_url = network.rpc_url
            row.explorer_url = network.explorer_url
            row.vault_address = network.vault_address
