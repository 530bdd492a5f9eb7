"""The transactions that move the account's money, as ``TxRequest``s for the ``TransactionManager``.

Pure functions: nothing here talks to a node. Amounts are ``Amount``s (integer base units with their
asset); a request never mixes assets. Addresses typed by a person go through ``parse_recipient`` first.
"""

from __future__ import annotations

from eth_abi import encode as abi_encode
from eth_utils import is_checksum_address, keccak, to_checksum_address

from paygo_desktop.chain.app_channels import payer_signs
from paygo_desktop.chain.transactions import TxRequest
from paygo_desktop.chain.vault import VaultClient
from paygo_desktop.chain.vouchers import ZERO_ADDRESS, Channel
from paygo_desktop.errors import UserFacingError
from paygo_desktop.money import Amount, Asset
from paygo_desktop.protocol.models import CloseAuth

_TRANSFER = keccak(text="transfer(address,uint256)")[:4]
_APPROVE = keccak(text="approve(address,uint256)")[:4]
_HEX = set("0123456789abcdefABCDEF")


class AddressError(UserFacingError):
    """Text that is not an address one can safely send to."""


class RequestError(UserFacingError):
    """A transfer or channel action that cannot be made as asked."""


def parse_recipient(text: str) -> str:
    """A checksummed address from what a person typed or pasted.

    All-lowercase (or all-uppercase) hex has no checksum and is accepted; mixed case must match the
    EIP-55 checksum, since a mismatch almost always means a typo. ENS names are not resolved.
    """
    value = text.strip()
    if not value:
        raise AddressError("Enter the address to send to.")
    if value.endswith(".eth"):
        raise AddressError("ENS names are not supported; paste the 0x… address instead.")
    if not value.startswith(("0x", "0X")) or len(value) != 42 or not set(value[2:]) <= _HEX:
        raise AddressError("An address is 0x followed by 40 hexadecimal characters.")
    body = value[2:]
    if body != body.lower() and body != body.upper() and not is_checksum_address("0x" + body):
        raise AddressError(
            "This address's capital letters do not match its checksum: it probably has a typo."
        )
    address = to_checksum_address("0x" + body.lower())
    if address == ZERO_ADDRESS:
        raise AddressError("That is the zero address; anything sent there is lost.")
    return address


def _positive(amount: Amount) -> None:
    if amount.units <= 0:
        raise RequestError("Enter an amount greater than zero.")


def send(amount: Amount, to: str) -> TxRequest:
    """Send ETH (a plain transfer) or a token (its ``transfer``) to ``to``."""
    _positive(amount)
    to = to_checksum_address(to)
    what = f"Send {amount.format()} to {to}"
    if amount.asset.address is None:
        return TxRequest(to=to, value=amount.units, kind="send", description=what)
    data = _TRANSFER + abi_encode(["address", "uint256"], [to, amount.units])
    return TxRequest(to=amount.asset.address, data=data, kind="send-token", description=what)


def approve(amount: Amount, spender: str, purpose: str, spender_name: str = "the PayGo vault") -> TxRequest:
    """Let ``spender`` (the vault, or PayGoJobs) take exactly ``amount`` of a token: the step before an
    ERC-20 deposit."""
    if amount.asset.address is None:
        raise ValueError("ETH needs no approval")
    data = _APPROVE + abi_encode(["address", "uint256"], [to_checksum_address(spender), amount.units])
    return TxRequest(
        to=amount.asset.address,
        data=data,
        kind="approve",
        description=f"Allow {spender_name} to take {amount.format()} ({purpose})",
    )


def _check_asset(channel: Channel, asset: Asset) -> None:
    token = asset.address or ZERO_ADDRESS
    if to_checksum_address(token) != channel.token:
        raise ValueError(f"{asset.symbol} is not this channel's token")


def fund(vault: VaultClient, channel: Channel, amount: Amount, provider_name: str = "") -> TxRequest:
    """Deposit into a channel (it is created by its first deposit). Tokens need ``approve`` first. Never
    into a channel whose vouchers another key signs: that key's holder could take the deposit at once."""
    _positive(amount)
    if not payer_signs(channel):
        raise RequestError(
            f"This channel's vouchers are signed by {channel.signer}, not by its payer: anyone holding that "
            "key can take what is in it, so nothing is deposited into it."
        )
    _check_asset(channel, amount.asset)
    data = vault.contract.encode_abi("fund", args=[channel.as_tuple(), amount.units])
    who = provider_name or channel.provider
    return TxRequest(
        to=vault.address,
        data=bytes.fromhex(data[2:]),
        value=amount.units if channel.is_native else 0,
        kind="escrow-fund",
        description=f"Deposit {amount.format()} into the escrow channel with {who}",
    )


def request_withdrawal(vault: VaultClient, channel: Channel, amount: Amount) -> TxRequest:
    """Announce a withdrawal; it can be finalized after the channel's delay. 0 cancels a pending one."""
    _check_asset(channel, amount.asset)
    data = vault.contract.encode_abi("requestWithdraw", args=[channel.as_tuple(), amount.units])
    what = (
        f"Request a withdrawal of {amount.format()} from the escrow channel"
        if amount.units
        else "Cancel the pending withdrawal request"
    )
    return TxRequest(
        to=vault.address, data=bytes.fromhex(data[2:]), kind="escrow-withdraw-request", description=what
    )


def finalize_withdrawal(vault: VaultClient, channel: Channel, amount: Amount) -> TxRequest:
    """Pay out a due withdrawal (at most what the provider has not claimed) to the account."""
    data = vault.contract.encode_abi("finalizeWithdraw", args=[channel.as_tuple()])
    return TxRequest(
        to=vault.address,
        data=bytes.fromhex(data[2:]),
        kind="escrow-withdraw",
        description=f"Withdraw {amount.format()} from the escrow channel",
    )


def close(
    vault: VaultClient, channel: Channel, auth: CloseAuth, voucher: bytes, description: str
) -> TxRequest:
    """Settle and close the channel now: the provider's signed Close (``auth``) and the payer's own
    ``voucher`` for the same final amount (``escrow.close`` checks both before it gets here)."""
    if auth.channel_id.lower() != "0x" + channel.id.hex():
        raise RequestError("That signed close belongs to another channel.")
    data = vault.contract.encode_abi(
        "closeCooperative",
        args=[
            channel.as_tuple(),
            auth.final_amount,
            auth.deadline,
            bytes(voucher),
            bytes.fromhex(auth.signature[2:]),
        ],
    )
    return TxRequest(
        to=vault.address, data=bytes.fromhex(data[2:]), kind="escrow-close", description=description
    )


def claim_batch(vault: VaultClient, items: list[tuple[Channel, int, bytes]], description: str) -> TxRequest:
    """Claim several channels' vouchers in one transaction (anyone may send it; each channel's provider
    is paid). Order ``items`` by (provider, token): consecutive equal runs are paid in one transfer."""
    if not items:
        raise RequestError("There is no voucher to claim.")
    data = vault.contract.encode_abi(
        "claimBatch",
        args=[[c.as_tuple() for c, _, _ in items], [a for _, a, _ in items], [bytes(s) for _, _, s in items]],
    )
    return TxRequest(
        to=vault.address, data=bytes.fromhex(data[2:]), kind="vendor-claim", description=description
    )
