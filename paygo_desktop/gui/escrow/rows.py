"""What each row of the Escrow page's channel and transaction tables says: plain text from what was read.

A channel's "Paid to provider" counts what the app's sessions signed but the provider has not claimed yet
(it claims in batches), and says when the chain paid the provider ahead of what its sessions settled at;
"Available" is what is really left.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from paygo_desktop.gui.format import short_address
from paygo_desktop.money import Amount

if TYPE_CHECKING:
    from paygo_desktop.sessions.history import ChannelsSeen

CHANNEL_COLUMNS = ("Provider", "Asset", "Deposited", "Paid to provider", "Available", "Withdrawal", "")
AMOUNT_COLUMNS = range(2, 5)  # aligned right
WITHDRAWAL_COLUMN = 5
CHANNEL_TIPS = {
    3: "What your sessions signed over to the provider. It claims it from the channel in batches; the "
    "part not claimed yet is still in the channel, but it is the provider's. Paid ahead: the provider "
    "claimed a voucher one tick ahead before a session settled lower; your next session on this channel "
    "uses that first.",
    4: "What is left in the channel for new sessions, or to withdraw.",
}
TX_COLUMNS = ("When", "What", "Status", "")
TX_STATUS = {
    "pending": "Pending: waiting for a block",
    "mined": "In a block, confirming",
    "confirmed": "Confirmed",
    "failed": "Failed",
    "replaced": "Replaced",
    "dropped": "Dropped by the network",
    "old_chain": "On an earlier sandbox chain",
}


def channel_cells(channel: Any, seen: ChannelsSeen, prices: Any, withdrawal: str) -> tuple[str, ...]:
    """The texts of a channel's row, its actions column aside (``withdrawal``: ``withdrawal_text``)."""
    committed = seen.committed.get(channel.channel_id.lower(), 0)  # 0 once closed: settled
    unclaimed = max(0, committed - channel.state.claimed)
    paid = channel.claimed.format()
    if unclaimed:
        signed = Amount(channel.asset, channel.state.claimed + unclaimed).format()
        paid = f"{signed} ({paid} claimed)"
    credit = seen.paid_ahead.get(channel.channel_id.lower(), 0)
    if credit:
        ahead = Amount(channel.asset, credit).format()
        paid = f"{paid} ({ahead} paid ahead, used by your next session)"
    free = Amount(channel.asset, max(0, channel.state.available - unclaimed))
    return (
        seen.provider_names.get(channel.provider.lower(), short_address(channel.provider)),
        channel.asset.symbol,
        channel.funded.format(),
        paid,
        prices.with_amount(free, max_decimals=None) if prices is not None else free.format(),
        withdrawal,
    )


def channel_tip(channel: Any, column: int) -> str:
    if column == 0:
        return f"Provider {channel.provider}\nChannel {channel.channel_id}"
    return CHANNEL_TIPS.get(column, "")


def withdrawal_text(channel: Any, seconds_left: int) -> str:
    """A channel's withdrawal: none, due in a while, or ready now (``seconds_left`` until it is)."""
    if channel.closed:
        return "Closed: settled"
    if channel.withdrawal_ready_at is None:
        return "—"
    from paygo_desktop.escrow.service import describe_wait

    pending = channel.pending_withdrawal.format()
    return (
        f"{pending}, ready now" if seconds_left <= 0 else f"{pending}, due in {describe_wait(seconds_left)}"
    )


def transaction_status(record: Any) -> str:
    status = TX_STATUS.get(record.status, record.status)
    if record.status == "failed" and record.error:
        return f"Failed: {record.error}"
    return status
