"""A job's release on its way: at most one ``release`` transaction per job that may still be mined.

``JobDesk.release`` (the provider's rounds and the vendor's route, under the lock of the provider's key)
signs the release, writes its hash, nonce and the provider's time on the job's row (``record``), and only
then broadcasts it; a release not mined within ``release_receipt_wait`` stays recorded. Before it sends
anything for the job, the desk asks ``fate`` what became of the recorded one:

- ``MINED``: its receipt is there (or the block that used its nonce holds it): the record is cleared and the
  job is read as it is on chain (released, or its release reverted);
- ``ON_ITS_WAY``: the node knows it and it is not in a block, or nothing shows yet that it can no longer be
  mined: nothing is sent (the route answers with its hash, the round waits);
- ``GONE``: the node no longer knows it, and either its nonce was used by another transaction (block-pinned
  evidence, ``chain.nonce_evidence``: replaced), or ``release_dropped_after`` seconds after it was sent its
  nonce is still unused (dropped) or used with no block to say by which (a pruning node without an index:
  given up rather than leave the price locked; a new release mined after this one reverts, gas only): the
  record is cleared and a new release may be sent.

A kill between writing the record and the broadcast leaves a record of a transaction no node knows: it is
``GONE`` once its nonce is used by another transaction or its time has passed, and never sent twice.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from typing import Any

from paygo_desktop.chain.nonce_evidence import nonce_use
from paygo_desktop.logs import public_hex
from paygo_desktop.provider.job_store import JobRow
from paygo_desktop.provider.store import Store

log = logging.getLogger(__name__)


class Fate(enum.Enum):
    MINED = "mined"
    ON_ITS_WAY = "on its way"
    GONE = "gone"


@dataclass(frozen=True)
class SentRelease:
    tx_hash: str  # 0x-hex, lower case
    nonce: int
    sent_at: int  # the provider's clock, Unix seconds


def recorded(store: Store, job_id: str) -> SentRelease | None:
    """The job's release on its way, as its row records it (None: none)."""
    with store.tx() as db:
        row = db.get(JobRow, job_id)
        if row is None or row.release_tx is None:
            return None
        assert row.release_nonce is not None and row.release_sent_at is not None
        return SentRelease(row.release_tx, row.release_nonce, row.release_sent_at)


def record(store: Store, job_id: str, sent: SentRelease) -> None:
    """Write ``sent`` on the job's row (committed when this returns): before it is broadcast."""
    with store.tx() as db:
        row = db.get(JobRow, job_id)
        assert row is not None
        row.release_tx, row.release_nonce, row.release_sent_at = sent.tx_hash, sent.nonce, sent.sent_at


def forget(store: Store, job_id: str, sent: SentRelease) -> None:
    """Clear the job's record of ``sent`` (mined, or gone); a record of another release stays."""
    with store.tx() as db:
        row = db.get(JobRow, job_id)
        if row is not None and row.release_tx == sent.tx_hash:
            row.release_tx = row.release_nonce = row.release_sent_at = None


async def fate(w3: Any, sender: str, sent: SentRelease, now: int, dropped_after: int) -> Fate:
    """What became of ``sent`` (sent from ``sender``), read from the node; node errors propagate."""
    from web3.exceptions import TransactionNotFound

    try:
        if await w3.eth.get_transaction_receipt(sent.tx_hash):
            return Fate.MINED
    except TransactionNotFound:
        pass
    try:
        if await w3.eth.get_transaction(sent.tx_hash):
            return Fate.ON_ITS_WAY  # in the node's pool (or mined since the receipt was asked for)
    except TransactionNotFound:
        pass
    if int(await w3.eth.get_transaction_count(sender, "latest")) > sent.nonce:
        # its nonce is used: by it (this node's receipt lags) or by another transaction; only a block that
        # holds one of them says which (no answer: it stays on its way)
        use = await nonce_use(w3, sender, sent.nonce, int(await w3.eth.block_number))
        if use is None and now - sent.sent_at > dropped_after:
            # no block names who took it (a node that prunes old state and keeps no index by nonce), the
            # node does not know it, and its time is long past: given up, or the price stays locked for
            # ever; were it mined after all, the new release reverts (gas only)
            log.warning(
                "jobs: release tx %s is unknown to the node %d s after it was sent and its nonce %d is used; "
                "which transaction used it cannot be read: given up",
                public_hex(sent.tx_hash),
                now - sent.sent_at,
                sent.nonce,
            )
            return Fate.GONE
        if use is None:
            return Fate.ON_ITS_WAY
        if use.tx_hash == sent.tx_hash:
            return Fate.MINED
        log.warning(
            "jobs: release tx %s is replaced: its nonce %d went to %s",
            public_hex(sent.tx_hash),
            sent.nonce,
            public_hex(use.tx_hash),
        )
        return Fate.GONE
    if now - sent.sent_at > dropped_after:
        log.warning(
            "jobs: release tx %s is unknown to the node %d s after it was sent, its nonce %d unused: dropped",
            public_hex(sent.tx_hash),
            now - sent.sent_at,
            sent.nonce,
        )
        return Fate.GONE
    return Fate.ON_ITS_WAY
