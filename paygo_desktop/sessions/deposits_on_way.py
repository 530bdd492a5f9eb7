"""Deposits into a channel that are already on their way, so that a start counts them instead of
depositing a second time.

A deposit stored by a run that was killed before broadcasting it is sent again, unchanged, by the next
heal (``TransactionManager.heal``), at the next start. Without this, that start then deposited again:
twice the funds locked in escrow for one deposit asked. A start's own deposit (``channels.DEPOSIT_KIND``)
counts until a session its provider started has used it, as the store says (``EscrowChain.channel_now``),
so that no sequence of kills (before its broadcast, after it, before it is mined, after) makes it twice.
Here: which stored transaction funds which channel (read from its own signed bytes, whichever screen sent
it), and how much of a deposit asked is still to send once the deposits on their way are counted.
"""

from __future__ import annotations

from collections.abc import Sequence

from eth_utils import function_signature_to_4byte_selector, to_checksum_address

from paygo_desktop.chain.vouchers import Channel
from paygo_desktop.money import Amount, Asset
from paygo_desktop.sessions.plan import DepositOnItsWay
from paygo_desktop.store.transactions import TransactionRecord

FUND_SIGNATURE = "fund((address,address,address,address,uint64,bytes32),uint128)"
FUND_SELECTOR = function_signature_to_4byte_selector(FUND_SIGNATURE)
LANDED = ("mined", "confirmed")  # in a block, not reverted


def deposit_into(record: TransactionRecord, vault_address: str, channel: Channel) -> int | None:
    """The amount ``record`` deposits into ``channel`` through the vault (its signed calldata read), or
    None when it is not such a deposit."""
    import rlp
    from eth_abi import decode

    if record.to_address is None or record.to_address.lower() != vault_address.lower():
        return None
    raw = bytes.fromhex(record.raw_tx.removeprefix("0x"))
    if raw[:1] != b"\x02":  # the app signs EIP-1559 transactions only
        return None
    try:
        # EIP-1559 payload: [chainId, nonce, tip, maxFee, gas, to, value, data, accessList, v, r, s]
        data = bytes(rlp.decode(raw[1:])[7])
        if data[:4] != FUND_SELECTOR:
            return None
        fields, amount = decode(["(address,address,address,address,uint64,bytes32)", "uint128"], data[4:])
    except Exception:
        return None
    payer, signer, provider, token, delay, salt = fields
    funded = (
        to_checksum_address(payer),
        to_checksum_address(signer),
        to_checksum_address(provider),
        to_checksum_address(token),
        int(delay),
        bytes(salt),
    )
    return int(amount) if funded == channel.as_tuple() else None


def still_to_deposit(
    asked: int, on_its_way: Sequence[DepositOnItsWay], asset: Asset, available: int | None = None
) -> tuple[int, str]:
    """A deposit of ``asked`` for a start that did not see the channel (the headless ``--deposit``): what
    is left to send once the deposits already on their way into the channel are counted, and what to
    say about it ("" when none is). Those already in the channel count only as far as the channel still
    holds them for new sessions (``available``, when known): an earlier start's deposit since withdrawn
    counts no more."""
    arriving = sum(d.amount for d in on_its_way if not d.landed)
    landed = sum(d.amount for d in on_its_way if d.landed)
    if available is not None:
        landed = min(landed, max(0, available))
        on_its_way = [d for d in on_its_way if not d.landed or landed > 0]
    counted = arriving + landed
    if asked <= 0 or counted <= 0:
        return asked, ""
    left = max(0, asked - counted)
    counts = (
        f"{describe(on_its_way, asset, counted)} It counts toward the {Amount(asset, asked).format()} asked:"
    )
    if left == 0:
        return 0, f"{counts} nothing more is deposited."
    return left, f"{counts} depositing the remaining {Amount(asset, left).format()}."


def describe(on_its_way: Sequence[DepositOnItsWay], asset: Asset, counted: int | None = None) -> str:
    """One sentence on the deposits on their way into the channel (``counted``: of them, what still
    counts; all of them when None)."""
    total = Amount(asset, sum(d.amount for d in on_its_way) if counted is None else counted).format()
    if all(d.resent for d in on_its_way):
        return (
            f"A deposit of {total} into this channel, stored by an earlier run that stopped before sending "
            "it, was sent now."
        )
    if all(d.earlier_start and d.landed for d in on_its_way):
        return (
            f"A deposit of {total} into this channel, made by an earlier start that stopped before its "
            "session began, is in the channel already."
        )
    return f"A deposit of {total} into this channel is already on its way."


def lost_text(deposit: DepositOnItsWay, record: TransactionRecord | None, asset: Asset, provider: str) -> str:
    """A deposit the start counted on that did not go through: what happened, and that a new start will
    propose the deposit the channel needs."""
    shown = Amount(asset, deposit.amount).format()
    status = record.status if record is not None else "gone from this app's records"
    why = f" ({record.error})" if record is not None and record.error else ""
    return (
        f"The deposit of {shown} that was on its way into your channel with {provider} did not go through: "
        f"it was {status}{why}. The funds did not move; the session did not start. Start it again to make "
        "a new deposit."
    )
