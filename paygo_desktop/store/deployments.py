"""Where contracts live on each network: the vault (and, on local chains, the test USDC)."""

from __future__ import annotations

from sqlalchemy import select

from paygo_desktop.store.database import Store
from paygo_desktop.store.models import DeploymentRow


class DeploymentRepository:
    def __init__(self, store: Store) -> None:
        self._store = store

    def save(
        self, network: str, chain_id: int, contract: str, address: str, tx_hash: str | None = None
    ) -> None:
        with self._store.session() as s:
            row = s.scalar(
                select(DeploymentRow).where(
                    DeploymentRow.network == network,
                    DeploymentRow.chain_id == chain_id,
                    DeploymentRow.contract == contract,
                )
            )
            if row is None:
                row = DeploymentRow(network=network, chain_id=chain_id, contract=contract)
                s.add(row)
            row.address = address
            row.tx_hash = tx_hash

    def address(self, network: str, chain_id: int, contract: str) -> str | None:
        with self._store.session() as s:
            return s.scalar(
                select(DeploymentRow.address).where(
                    DeploymentRow.network == network,
                    DeploymentRow.chain_id == chain_id,
                    DeploymentRow.contract == contract,
                )
            )

    def all(self, network: str, chain_id: int) -> dict[str, str]:
        """Every contract recorded on ``network`` (``chain_id``): its name -> its address."""
        with self._store.session() as s:
            rows = s.execute(
                select(DeploymentRow.contract, DeploymentRow.address).where(
                    DeploymentRow.network == network, DeploymentRow.chain_id == chain_id
                )
            ).all()
            return {contract: address for contract, address in rows}
