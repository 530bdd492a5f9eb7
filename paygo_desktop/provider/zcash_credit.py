"""The crediting rule: which permission a received Zcash note pays, and that it pays it only once.

A note is identified by ``(txid, pool, output index)`` (``ReceivedNote.identity``). The rule:

1. A note paid to an address that is a permission's own receiving address credits **that permission**,
   whatever its memo says. A memo naming another permission on such a note is ignored: the address wins,
   so a payment to A's address with B's memo credits A only (B stays unpaid).
2. A note paid to an address that is no permission's receiving address (a shared address of the
   provider's wallet, or one the provider does not know) credits the permission its memo
   ``paygo:perm:<id>`` names, if that permission exists.
3. Any other note (no permission's address, and no memo naming an existing permission) credits nothing:
   it stays in the wallet for the vendor to sort out by hand (a refund).

A note is credited when the verify of the permission the rule gives it sees it, and only while that
permission waits for its payment; it is then written to the credited-notes table, whose primary key is
the note's identity. A permission's received total is the sum of its rows there: the same note seen again
(by polling, in a second wallet listing, under another address string, or by another permission's
verify) never counts twice and never counts for a second permission; another output of the same
transaction is another note, judged by the same rule.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from paygo_desktop.provider.zcash_store import ZcashCreditedNoteRow, ZcashPermissionRow
from paygo_desktop.provider.zcash_wallet_rpc import ReceivedNote
from paygo_desktop.zcash.permissions import parse_payment_memo

log = logging.getLogger(__name__)


def owner(db: Session, note: ReceivedNote) -> tuple[str, str] | None:
    """``(permission id, "address" | "memo")`` of the permission ``note`` credits under the rule, or None."""
    by_address = db.scalar(
        select(ZcashPermissionRow.id).where(ZcashPermissionRow.payment_address == note.address)
    )
    if by_address is not None:
        return by_address, "address"
    named = parse_payment_memo(note.memo) if note.memo else None
    if named is not None and db.get(ZcashPermissionRow, named) is not None:
        return named, "memo"
    return None


def credit(
    db: Session, permission_id: str, notes: Sequence[ReceivedNote], now: int
) -> list[ZcashCreditedNoteRow]:
    """Credit to ``permission_id`` the notes among ``notes`` that the rule gives it and that no permission
    was credited with yet; refresh the confirmations of its notes seen again. Returns every note credited
    to it so far. The caller holds the permissions' lock (one crediting at a time)."""
    for note in notes:
        row = db.get(ZcashCreditedNoteRow, note.identity)
        if row is not None:
            if row.permission_id == permission_id:
                row.confirmations = note.confirmations
            continue
        who = owner(db, note)
        if who is None or who[0] != permission_id:
            if who is not None and parse_payment_memo(note.memo or "") == permission_id:
                log.warning(
                    "zcash note %s:%s:%d names %s in its memo but was paid to %s's address: not credited "
                    "to %s",
                    *note.identity,
                    permission_id,
                    who[0],
                    permission_id,
                )
            continue
        txid, pool, output_index = note.identity
        db.add(
            ZcashCreditedNoteRow(
                txid=txid,
                pool=pool,
                output_index=output_index,
                permission_id=permission_id,
                address=note.address,
                amount_zat=str(note.amount_zat),
                confirmations=note.confirmations,
                matched_by=who[1],
                credited_at=now,
            )
        )
        db.flush()
    return list(
        db.scalars(
            select(ZcashCreditedNoteRow)
            .where(ZcashCreditedNoteRow.permission_id == permission_id)
            .order_by(ZcashCreditedNoteRow.credited_at, ZcashCreditedNoteRow.txid)
        ).all()
    )
