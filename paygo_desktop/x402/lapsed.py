"""What the chain says about x402 payments whose outcome rests on the server's word once their authorization
has lapsed by the app's clock: left ``pending`` (the app was killed after sending one, the server kept it
without answering, or its answer did not show it settled: unreadable, or naming a transaction the chain does
not show settling it, ``x402.settlement``), answered ``failed`` after it was sent (the server, or a transport
error, said so), or settled ``unused`` (an ``upto`` payment the server said it settled at nothing).

Such a payment counts at its most against the site's limits while its authorization is valid
(``X402Payment.may_still_move``): a hostile server can say "failed", keep the signed authorization and submit
it before it lapses. Past that, only the chain knows whether it moved money: the authorization's nonce is
spent on chain (EIP-3009's ``authorizationState`` for ``exact``, Permit2's nonce bitmap for ``upto``)
exactly when it did. So before the limits are checked, each such payment is looked up once:
- spent, it is marked settled with the transaction that spent it and what that moved (``settlement_of``),
  so that it has a proof file, and the payer books it into Activity's spending as it books any settled
  payment. Where that transaction is not found (the node refuses the logs; an upto permit settled through
  another contract than x402's proxy) an ``exact`` one is settled at its amount all the same, and an
  ``upto`` one counts at its signed maximum and is not booked (what it moved is not known);
- unspent while the chain's own time is past its ``valid_before``, it can never move: a pending one is
  marked failed, and each is marked ``never_moves`` (not counted, not asked again);
- otherwise (the chain's clock behind the app's, the node not answering, or the payment on another chain
  than the node's) it stays as it is and keeps counting at its most.
The app itself never cancels an authorization nor invalidates a Permit2 nonce, so a spent nonce is a
payment made.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC
from functools import partial
from typing import Any

from eth_utils import to_checksum_address

from paygo_desktop.chain.erc20_transfers import TRANSFER_TOPIC_HEX, address_topic
from paygo_desktop.chain.log_decoding import as_bytes
from paygo_desktop.chain.log_ranges import LogRangeWalker, first_block_at
from paygo_desktop.store.x402 import FAILED, PENDING, SETTLED, X402Payment, X402Store
from paygo_desktop.x402.settlement import (
    AUTHORIZATION_USED,
    authorization_spent,
    moved_on_chain,
    settles_permit,
)

log = logging.getLogger(__name__)

SPENT_NOTE = "the app lost track of it; the chain shows its authorization spent"
SAID_NOTE = "the server said it did not settle, yet the chain shows its authorization spent"
UNSHOWN_NOTE = "the server's answer did not show it settled; the chain shows its authorization spent"
UNUSED_NOTE = "never settled: its authorization lapsed unused"
# a payment's note when the chain, not its server, settled it
FOUND_NOTES = (SPENT_NOTE, SAID_NOTE, UNSHOWN_NOTE)
CLOCK_SLACK = 3600  # the payment's time is this computer's clock: look for its transaction an hour earlier


@dataclass
class LapsedCheck:
    """What ``settle_lapsed`` found: ``still``, the ids that keep counting at their most (the chain could
    still move them, or could not be asked); ``found_spent``, the payments it marked settled because the
    chain shows them spent, as they are now; ``closed``, the ids it marked as never moving money."""

    still: set[int] = field(default_factory=set)
    found_spent: list[X402Payment] = field(default_factory=list)
    closed: list[int] = field(default_factory=list)


async def settlement_of(w3: Any, payment: X402Payment) -> tuple[str, int] | None:
    """The transaction that spent a payment's authorization, and what it moved from the payer to payTo;
    None if the node shows none. It was mined while the authorization was valid:
    - ``exact``: the token logs ``AuthorizationUsed(payer, nonce)`` in it, and it moved exactly the amount;
    - ``upto``: the token logs a ``Transfer`` from the payer to payTo in it, and it is x402's upto proxy
      settling this permit (its input decoded with the SDK's ABI: this nonce, this owner); what it moved is
      read from its receipt, as the payer reads any settlement (``x402.settlement``)."""
    created = payment.created_at if payment.created_at.tzinfo else payment.created_at.replace(tzinfo=UTC)
    since = min(int(created.timestamp()), payment.valid_after or payment.valid_before) - CLOCK_SLACK
    start = await first_block_at(w3, since)
    end = await first_block_at(w3, payment.valid_before)  # mined before validBefore: at most this block
    token = to_checksum_address(payment.asset)
    if payment.scheme == "exact":
        topics = [AUTHORIZATION_USED, address_topic(payment.payer), payment.nonce.lower()]
    else:
        topics = [TRANSFER_TOPIC_HEX, address_topic(payment.payer), address_topic(payment.pay_to)]

    async def fetch(first: int, last: int) -> list[Any]:
        return list(
            await w3.eth.get_logs({"address": token, "topics": topics, "fromBlock": first, "toBlock": last})
        )

    def refused(block: int, reason: str) -> Exception:
        return RuntimeError(f"the node refused the token's logs at block {block} ({reason})")

    seen: set[str] = set()
    async for _first, _last, logs in LogRangeWalker().walk(start, end, fetch, refused):
        for entry in logs:
            tx_hash = "0x" + bytes(entry["transactionHash"]).hex()
            if payment.scheme == "exact":
                return tx_hash, payment.amount
            # a Transfer of nothing anyone may log (transferFrom of 0 needs no allowance): not read, so a
            # hostile payTo cannot make this lookup read thousands of transactions
            if tx_hash in seen or not any(as_bytes(entry["data"])):
                continue
            seen.add(tx_hash)
            if await settles_permit(w3, tx_hash, payment):
                moved = await moved_on_chain(w3, tx_hash, token, payment.payer, payment.pay_to)
                if moved is not None:
                    return tx_hash, moved
    return None


async def settle_lapsed(
    records: X402Store,
    rpc_url: str,
    origin: str | None,
    now: int,
    booked: Callable[[X402Payment], list[Any]] | None = None,
) -> LapsedCheck:
    """Settle or close, as the chain says, ``origin``'s payments (None: every site's) resting on the
    server's word whose authorization lapsed by ``now``. ``booked``: the rows that book a payment found
    spent whose amount is known, written in the transaction that marks it settled (``X402Store.finish``).
    A payment another check marked meanwhile (the app's at opening and a payer's, maybe in another
    process) is left as that one marked it: it is booked once."""
    from paygo_desktop.chain.rpc import async_web3

    lapsed = [
        p
        for p in await asyncio.to_thread(records.payments, origin)
        if p.on_servers_word and p.valid_before <= now
    ]
    if not lapsed:
        return LapsedCheck()
    w3 = async_web3(rpc_url, timeout=15)
    try:
        chain = f"eip155:{await w3.eth.chain_id}"
        chain_now = int((await w3.eth.get_block("latest"))["timestamp"])
        found = [(p, await authorization_spent(w3, p)) for p in lapsed if p.network == chain]
        settlements = {p.id: await _settlement_or_none(w3, p) for p, used in found if used}
    except Exception:  # the node away or not answering: every lapsed one still counts
        return LapsedCheck(still={p.id for p in lapsed})
    finally:
        await w3.provider.disconnect()
    check = LapsedCheck(still={p.id for p in lapsed if p.network != chain})  # another chain's: not known
    for p, used in found:
        if used:
            note = SAID_NOTE if p.status != PENDING else SPENT_NOTE if p.error is None else UNSHOWN_NOTE
            tx, moved = settlements.get(p.id) or (None, p.amount if p.scheme == "exact" else None)
            marked = await asyncio.to_thread(
                partial(
                    records.finish,
                    p.id,
                    SETTLED,
                    tx_hash=tx,
                    error=note,
                    settled_amount=moved,
                    booked=booked if moved is not None else None,  # upto, not known: not booked
                    only_from=p,  # not if another check marked it meanwhile: it booked it
                )
            )
            settled = await asyncio.to_thread(records.payment, p.id) if marked else None
            if settled is not None:
                check.found_spent.append(settled)
        elif chain_now > p.valid_before:
            if p.status == PENDING:
                await asyncio.to_thread(partial(records.finish, p.id, FAILED, error=UNUSED_NOTE, only_from=p))
            await asyncio.to_thread(records.mark_never_moves, p.id)
            check.closed.append(p.id)
        else:
            check.still.add(p.id)
    return check


async def _settlement_or_none(w3: Any, payment: X402Payment) -> tuple[str, int] | None:
    """``settlement_of``, or None when the logs cannot be read: the payment is settled all the same (its
    nonce is spent), at its amount (``exact``) or counted at its maximum (``upto``), without a proof."""
    try:
        return await settlement_of(w3, payment)
    except Exception as exc:  # a node that refuses logs: the spent nonce still settles it
        log.info("x402 payment %s: its settlement was not found (%s)", payment.id, exc)
        return None
