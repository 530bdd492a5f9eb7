"""Voucher signature checks of the reference provider, the way PayGoVault checks them when it pays a claim.

First ECDSA (offline, ``chain.vouchers.VoucherChecker``: ``verify_voucher``'s verdicts with the domain
separator computed once): a voucher signed by an EOA signer needs no chain read. When that fails, the
channel's signer may be a contract wallet: its EIP-1271 ``isValidSignature(digest, signature)`` is called
through the provider's node (``eth_call``) *from the vault's address*, as the vault calls it when it pays a
claim (a wallet may answer differently depending on who asks: one that approves everybody but the vault would
pass any other check and revert every claim), and the voucher is valid only if it returns the magic value
``0x1626ba7e`` in a full word, as OpenZeppelin's ``SignatureChecker`` requires. The call runs at the gas price
a claim is sent with now (``chain.fees``; cached ``FEE_TTL`` seconds): an ``eth_call`` without one runs with
``tx.gasprice == 0``, which no claim has, and a wallet that approves only then would pass every check and
revert every claim. The vault's address holds no ether to pay for such a call, so the call lends it the gas
(a state override of its balance: what it holds plus gas times price; the node must support ``eth_call``
state overrides, as geth, erigon, nethermind, reth, besu and anvil do). A wallet can still tell an
``eth_call`` from a transaction (``tx.origin``, the block): the claimer simulates each ``claimBatch`` before
sending it and leaves out the channels the vault refuses, and a claim that reverts all the same refuses its
channel (``provider.claimer``, ``provider.contract_signed_claims``). An address without code answers
nothing, a revert or any other answer is a refusal; a node that cannot be reached raises (the caller answers
503, never "bad signature").

Accepted contract signatures are remembered per (channel, digest) with the signature that passed, so the same
voucher sent again (a retry) costs no second call; refusals are never cached (a wallet deployed later, or a
different signature, is checked afresh). The claimer bypasses the cache: a wallet may stop accepting a
signature (owner rotated), and one invalid signature reverts a whole ``claimBatch``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

from eth_abi import encode as abi_encode
from eth_utils import keccak

from paygo_desktop.chain.fees import FeeQuote, quote_fees
from paygo_desktop.chain.vault import RevertError, VaultClient
from paygo_desktop.chain.vouchers import Channel, VaultDomain, VoucherChecker

ERC1271_SELECTOR = keccak(text="isValidSignature(bytes32,bytes)")[:4]  # 0x1626ba7e
ERC1271_MAGIC_WORD = ERC1271_SELECTOR + b"\x00" * 28
ERC1271_GAS = 1_000_000  # a wallet needing more to check one signature is refused
MAX_ENTRIES = 100_000
FEE_TTL = 10.0  # seconds a gas price quote is used for the wallets' checks
Signed = Literal["ecdsa", "contract"]  # how a voucher's signature is valid: by key, or by a signer contract


def _bytes(signature: bytes | str) -> bytes:
    if isinstance(signature, str):
        return bytes.fromhex(signature.removeprefix("0x"))
    return bytes(signature)


class VoucherSignatures:
    def __init__(
        self, vault: VaultClient, domain: VaultDomain, *, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.vault = vault
        self.domain = domain
        self.checker = VoucherChecker(domain)
        self._accepted: dict[tuple[bytes, bytes], bytes] = {}  # (channel id, digest) -> keccak(signature)
        self.monotonic = monotonic
        self._fees: tuple[float, FeeQuote] | None = None  # (when quoted, the quote)

    def known(self, channel: Channel, cumulative_amount: int, signature: bytes | str) -> Signed | None:
        """The verdict that needs no node call: ``"ecdsa"`` (signed by the channel's signer's key), or
        ``"contract"`` (this very signature approved by the signer contract before); None: only the signer
        contract can tell (``check``)."""
        if self.checker.verify(channel, cumulative_amount, signature):
            return "ecdsa"
        key = (channel.id, self.checker.digest(channel.id, cumulative_amount))
        if self._accepted.get(key) == keccak(_bytes(signature)):
            return "contract"
        return None

    async def check(
        self, channel: Channel, cumulative_amount: int, signature: bytes | str, *, cached: bool = True
    ) -> Signed | None:
        """How the vault would accept ``signature`` on a voucher of ``cumulative_amount`` for ``channel`` now:
        ``"ecdsa"``, ``"contract"`` (EIP-1271), or None (refused)."""
        if self.checker.verify(channel, cumulative_amount, signature):
            return "ecdsa"
        sig = _bytes(signature)
        key = (channel.id, self.checker.digest(channel.id, cumulative_amount))
        if cached and self._accepted.get(key) == keccak(sig):
            return "contract"
        ok = await self.erc1271(channel.effective_signer, key[1], sig)
        if ok:
            if len(self._accepted) >= MAX_ENTRIES:
                self._accepted.clear()
            self._accepted[key] = keccak(sig)
        else:
            self._accepted.pop(key, None)
        return "contract" if ok else None

    async def valid(
        self, channel: Channel, cumulative_amount: int, signature: bytes | str, *, cached: bool = True
    ) -> bool:
        """Would the vault accept ``signature`` on a voucher of ``cumulative_amount`` for ``channel`` now?"""
        return await self.check(channel, cumulative_amount, signature, cached=cached) is not None

    async def fees(self) -> FeeQuote:
        """The gas price a claim would be sent with now (quoted at most ``FEE_TTL`` seconds ago)."""
        now = self.monotonic()
        if self._fees is None or now - self._fees[0] > FEE_TTL:
            self._fees = (now, await quote_fees(self.vault.w3))
        return self._fees[1]

    async def erc1271(self, signer: str, digest: bytes, signature: bytes) -> bool:
        """``signer.isValidSignature(digest, signature)`` asked as the vault asks it (``from`` = the vault, at
        the gas price of a claim), through the node; node errors propagate."""
        w3 = self.vault.w3
        data = ERC1271_SELECTOR + abi_encode(["bytes32", "bytes"], [digest, signature])
        fees = await self.fees()
        held = int(await w3.eth.get_balance(self.vault.address))
        lent = {self.vault.address: {"balance": hex(held + ERC1271_GAS * fees.max_fee)}}
        call = {"from": self.vault.address, "to": signer, "data": data, "gas": ERC1271_GAS, **fees.params()}
        try:
            result = await w3.eth.call(call, "latest", lent)  # type: ignore[arg-type]
        except RevertError:
            return False
        return len(result) >= 32 and bytes(result[:32]) == ERC1271_MAGIC_WORD
