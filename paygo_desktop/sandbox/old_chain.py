"""What the app's store holds for a sandbox chain that was not kept, marked as belonging to it.

A new sandbox chain reuses the chain id, the deployer's nonces and so the very contract addresses and
channel ids of the old one, and the accounts' nonces start at 0 again: a stored transaction of the old
chain would be valid there, and the transaction manager would send it again. So, when the sandbox starts a
new chain (``world.start`` says why), everything of the old one is set apart:

* its transactions (every status) become ``old_chain``: never refreshed, never sent again;
* its sessions keep their figures and receipts but no longer name a channel (the same id on the new
  chain is another channel), and one left open is closed as failed; their stop reason says so;
* the vault events read from it are forgotten, so the Escrow page reads the new chain from its start;
  so are the provider registry's entries, so Services lists the new chain's.

The sandbox's chain id is shared by any local chain (anvil's default): the sandbox is started on the data
directory's own store only.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update

from paygo_desktop.store.database import Store
from paygo_desktop.store.models import (
    OPEN_STATUSES,
    Funding,
    SessionRow,
    SessionStatus,
    SessionVoucherRow,
    TransactionRow,
    utcnow,
)
from paygo_desktop.store.registry_entries import RegistryIndex
from paygo_desktop.store.vault_events import VaultEventIndex

OLD_CHAIN_NOTE = "On an earlier sandbox chain that was not kept."


@dataclass(frozen=True)
class Retired:
    transactions: int
    sessions: int

    @property
    def anything(self) -> bool:
        return bool(self.transactions or self.sessions)


def retire_old_chain(store: Store, chain_id: int, vaults: list[str], network: str = "sandbox") -> Retired:
    """Mark the store's transactions, sessions and vault events of the sandbox chain that was replaced."""
    with store.session() as s:
        old = s.scalars(
            select(TransactionRow).where(
                TransactionRow.chain_id == chain_id, TransactionRow.status != "old_chain"
            )
        ).all()
        for tx in old:
            tx.status, tx.error = "old_chain", OLD_CHAIN_NOTE + " Never sent again."
        rows = s.scalars(
            select(SessionRow).where(
                SessionRow.network == network,
                SessionRow.funding == Funding.ESCROW,
                SessionRow.channel_id.is_not(None),
            )
        ).all()
        for row in rows:
            s.execute(
                update(SessionVoucherRow)
                .where(SessionVoucherRow.session_id == row.id)
                .values(channel_id=None)
            )
            row.channel_id = None
            row.stop_reason = f"{row.stop_reason or ''} {OLD_CHAIN_NOTE}".strip()
            if row.status in OPEN_STATUSES:
                row.status = SessionStatus.FAILED
                row.ended_at = row.ended_at or utcnow()
    index = VaultEventIndex(store)
    for vault in dict.fromkeys(vaults):
        index.rewind(chain_id, vault, -1)
    from paygo_desktop.chain.canonical import REGISTRY

    RegistryIndex(store).forget(chain_id, REGISTRY.address)
    return Retired(transactions=len(old), sessions=len(rows))
