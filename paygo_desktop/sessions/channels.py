"""The escrow channel a session pays from: which one, where the provider stands on it, and funding it
through the transaction manager.

One channel in use per (payer, provider, token): ``Channel(payer, provider, token, signer=0,
withdraw_delay=<the vault's minimum>, salt=n)`` with n the first index whose channel is not closed on chain
(a cooperative close makes a channel final; the next session opens the next one). Deterministic
parameters let the app find its channels again on chain from nothing but the account, the provider's
``payTo`` and the asset, after a reinstall too. Other parts of the app that open channels for sessions
should use ``session_channel``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from paygo_desktop.chain.app_channels import current_app_channel, own_channel
from paygo_desktop.chain.transactions import FeeQuote, TransactionError, TransactionManager, TxRequest
from paygo_desktop.chain.vault import VaultClient
from paygo_desktop.chain.vouchers import Channel, VaultDomain, verify_voucher
from paygo_desktop.logs import public_hex
from paygo_desktop.money import ETH, Amount, Asset
from paygo_desktop.protocol.client import NotFound, ProviderClient
from paygo_desktop.sessions.fee_limit import FeeLimit, within
from paygo_desktop.sessions.plan import SessionError

log = logging.getLogger(__name__)


async def session_channel(
    vault: VaultClient, payer: str, provider: str, asset: Asset, withdraw_delay: int
) -> Channel:
    """The channel a new session with ``provider`` pays from: the first of the app's not closed on chain."""
    return await current_app_channel(vault, payer, provider, asset.address, withdraw_delay)


def channel_base(provider_cursor: int | None, claimed: int) -> int:
    """Where the next session's vouchers start: the cursor the provider holds for the channel (its last
    voucher, or a settled final voucher, which can be below what was claimed: that difference was paid
    ahead and is credited), or what was claimed on chain when the provider holds nothing."""
    return claimed if provider_cursor is None else provider_cursor


async def provider_cursor(
    client: ProviderClient, channel: Channel, domain: VaultDomain, key: Any = None
) -> int | None:
    """The cumulative the provider holds for the channel, None if none. Asked with ``key`` (the payer),
    the provider shows the voucher's signature, which is checked; without, its word (for display)."""
    try:
        info = await client.get_channel(channel.id, key)
    except NotFound:
        return None
    last = info.last_voucher
    if last is None:
        return None
    if key is not None and (
        last.signature is None or not verify_voucher(domain, channel, last.cumulative_amount, last.signature)
    ):
        raise SessionError("The provider reports a last voucher for your channel that you did not sign.")
    return last.cumulative_amount


# the kind of a start's own deposit (``deposit``: ``session start --deposit``, the Zcash fallback), which
# counts toward the next start's until a session has started on it (``EscrowChain.channel_now``); the
# Escrow page's and the start dialog's go through the transaction dialog as "escrow-fund"
DEPOSIT_KIND = "fund"


@dataclass(frozen=True)
class Deposit:
    """The transactions a deposit sent (hashes)."""

    approve_tx: str | None
    fund_tx: str


async def deposit(
    manager: TransactionManager,
    vault: VaultClient,
    account: Any,
    channel: Channel,
    asset: Asset,
    amount: int,
    *,
    timeout: float = 120.0,
    progress: Callable[[str], None] = lambda _: None,
    fee_limit: FeeLimit | None = None,
) -> Deposit:
    """Fund or top up ``channel`` with ``amount`` (ERC-20: approve first when the allowance is short).

    Each transaction is shown to the transaction manager's store before it is broadcast; a failure raises
    a ``SessionError`` that says which step failed and that the funds did not move. First the account's
    earlier transactions are healed (one stored but never sent goes out again, a nonce gap is filled) and
    waited for, at most ``timeout`` seconds: a new one would otherwise queue behind them for ever. With
    ``fee_limit`` (what the user agreed to), no step is signed above it: a step that would take the fees
    past its total is refused before it is signed.
    """
    if amount <= 0:
        raise SessionError("A deposit must be above zero.")
    sender = account.address
    if not own_channel(channel, sender):  # sessions use the app's channels (signer zero): never another's
        raise SessionError(
            "That channel is not one this account alone signs for: anyone holding its signer's key could "
            "take a deposit, so nothing was sent."
        )

    def sign(tx: dict[str, Any]) -> bytes:
        return bytes(account.sign_transaction(tx).raw_transaction)

    fees = _Fees(fee_limit)
    await heal_before_sending(manager, sender, sign, timeout=timeout, progress=progress)

    shown = Amount(asset, amount).format()
    approve_hash: str | None = None
    if not channel.is_native:
        allowance = int(await vault.erc20(channel.token).functions.allowance(sender, vault.address).call())
        if allowance < amount:
            progress(f"Allowing the vault to take {shown}…")
            data = vault.erc20(channel.token).functions.approve(vault.address, amount)
            request = TxRequest(
                to=channel.token,
                data=bytes.fromhex(data._encode_transaction_data()[2:]),
                kind="approve",
                description=f"Allow the escrow vault to take {shown}",
            )
            record = await _send_and_wait(manager, sender, request, sign, timeout, progress, fees)
            approve_hash = record
    progress(f"Depositing {shown} into the channel…")
    fn = vault.contract.functions.fund(channel.as_tuple(), amount)
    request = TxRequest(
        to=vault.address,
        data=bytes.fromhex(fn._encode_transaction_data()[2:]),
        value=amount if channel.is_native else 0,
        kind=DEPOSIT_KIND,
        description=f"Deposit {shown} into the escrow channel",
    )
    fund_hash = await _send_and_wait(manager, sender, request, sign, timeout, progress, fees)
    return Deposit(approve_tx=approve_hash, fund_tx=fund_hash)


async def heal_before_sending(
    manager: TransactionManager,
    sender: str,
    sign: Callable[[dict[str, Any]], bytes] | None,
    *,
    timeout: float,
    progress: Callable[[str], None] = lambda _: None,
) -> None:
    """Heal the account's earlier transactions and wait for them; a ``SessionError`` if one still hangs."""
    try:
        healed = await manager.heal(sender, sign)
    except TransactionError as exc:
        raise SessionError(f"{exc} Nothing new was sent.") from None
    for line in healed.describe():
        progress(line)
    if not healed.open:
        return
    progress(f"Waiting for {len(healed.open)} earlier transaction(s) from this account to be mined…")
    still = await manager.wait_open(sender, timeout=timeout)
    if still:
        first = still[0]
        raise SessionError(
            f"An earlier transaction from this account is still pending after {timeout:g} s "
            f"({first.description}, nonce {first.nonce}, {first.tx_hash}): nothing new was sent, the "
            "session did not start. The Escrow page follows it; speed it up or cancel it there."
        )


class _Fees:
    """What a deposit's steps may still cost under the limit agreed to (none: as the node quotes)."""

    def __init__(self, limit: FeeLimit | None) -> None:
        self.limit, self.spent = limit, 0

    def take(self, request: TxRequest, quote: FeeQuote) -> FeeQuote:
        if self.limit is None:
            return quote
        quote = within(quote, self.limit)
        if self.spent + quote.max_fee > self.limit.total:
            done = " (the steps before it stand)" if self.spent else ""
            raise SessionError(
                f"{request.description}: its network fee could now reach "
                f"{Amount(ETH, self.spent + quote.max_fee).format(max_decimals=8)} in all, above the "
                f"{Amount(ETH, self.limit.total).format(max_decimals=8)} agreed to; it was not sent{done}. "
                "The session did not start."
            )
        self.spent += quote.max_fee
        return quote


async def _send_and_wait(
    manager: TransactionManager,
    sender: str,
    request: TxRequest,
    sign: Callable[[dict[str, Any]], bytes],
    timeout: float,
    progress: Callable[[str], None],
    fees: _Fees,
) -> str:
    quote = fees.take(request, await manager.quote(sender, request))
    progress(
        f"{request.description}: network fee about {Amount(ETH, quote.likely_fee).format(max_decimals=8)}, "
        f"at most {Amount(ETH, quote.max_fee).format(max_decimals=8)}."
    )
    record = await manager.send(sender, request, quote, sign)
    record = await manager.wait(record, timeout=timeout)
    if record.status == "pending":
        raise SessionError(
            f"{request.description}: the transaction is still pending after {timeout:g} s "
            f"({record.tx_hash}). PayGo keeps it and the Escrow page follows it; the session did not start."
        )
    if record.status not in ("mined", "confirmed"):
        what = request.description[0].lower() + request.description[1:]
        raise SessionError(
            f"Could not {what}: the transaction is {record.status}"
            + (f" ({record.error})" if record.error else "")
            + ". The session did not start."
        )
    log.info("%s: %s", request.kind, public_hex(record.tx_hash))
    return record.tx_hash
