"""The claimer's contract signers (EIP-1271): which channels' vouchers a contract signs, the signer asked
again before each claim, their claims on a short schedule of their own, and the refusal for good of a
channel whose lone claim reverts on chain. ``Claimer`` (``provider.claimer``) mixes this in.

A contract wallet can answer the provider's checks one way and the vault's claim another, so its voucher is
asked again before every claim round, as the vault asks (``_still_signed``: never a remembered answer).
No ``eth_call`` proves what a contract will answer on chain (the block, ``tx.origin``, a change front-run
into the claim's block...), so contract-signed vouchers are claimed in batches of their own (an EOA
voucher, checked by ECDSA, answers the same anywhere: a contract signer never reverts an EOA batch) and on
a short schedule of their own (``Claimer.run``'s ``contract_interval``, the provider's
``contract_signer_claim_interval``: ``claim_contract_signed``): a contract signer gets at most that much
service (and what one tick pays for, ahead) before its voucher is claimed. A contract-signed claim that
passes its simulation alone and reverts when mined refuses its channel for good (``REVERTED_ON_CHAIN``: its
session ends, it is never sent again; the vendor sees it listed).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from paygo_desktop.chain.vault import VaultClient
from paygo_desktop.chain.vouchers import Channel
from paygo_desktop.logs import public_hex
from paygo_desktop.provider.store import Store, channel_of
from paygo_desktop.provider.voucher_signatures import VoucherSignatures

if TYPE_CHECKING:
    from paygo_desktop.provider.claimer import Claimable, _Retry

log = logging.getLogger(__name__)
REVERTED_ON_CHAIN = (
    "its claim passed every check and reverted when mined (a contract signer that answers checks otherwise "
    "than the vault): never claimed again by this provider"
)


class ContractSignedClaims:
    """The contract signers' part of ``Claimer`` (what it uses of the claimer is declared here)."""

    if TYPE_CHECKING:
        store: Store
        vault: VaultClient
        wall_clock: Callable[[], float]
        on_refused: Callable[[str], None]
        retries: dict[str, _Retry]

        def _held_vouchers(self, only: set[str] | None) -> list[Any]: ...

        async def claim_pending(
            self, only: set[str] | None = None, *, withdrawal: bool = False
        ) -> tuple[str | None, list[str]]: ...

    def _init_contract_signers(self) -> None:
        self._signatures: VoucherSignatures | None = None
        self._contract_signed: dict[str, bool] = {}  # channel id -> not ECDSA-signed (a signer never changes)

    async def _still_signed(self, channel: Channel, amount: int, signature: str) -> bool:
        """ECDSA, or the contract signer's EIP-1271 answer now (never a remembered one)."""
        return await (await self._checker()).valid(channel, amount, signature, cached=False)

    async def _checker(self) -> VoucherSignatures:
        if self._signatures is None:
            self._signatures = VoucherSignatures(self.vault, await self.vault.domain())
        return self._signatures

    async def _is_contract_signed(self, cid: str, channel: Channel, amount: int, signature: str) -> bool:
        """Is this channel's voucher signed by a contract (not ECDSA)? Known once per channel: its signer
        never changes."""
        known = self._contract_signed.get(cid)
        if known is None:
            known = not (await self._checker()).checker.verify(channel, amount, signature)
            if len(self._contract_signed) >= 100_000:
                self._contract_signed.clear()
            self._contract_signed[cid] = known
        return known

    async def contract_signed_due(self) -> set[str]:
        """The channels signed by a contract with a voucher above what this database knows as claimed
        (each channel's signature is checked offline once; no chain read)."""
        due: set[str] = set()
        for r in self._held_vouchers(None):
            known = self._contract_signed.get(r.id)
            if known is None:
                amount, sig = int(r.last_cumulative), r.last_signature
                known = await self._is_contract_signed(r.id, channel_of(r), amount, sig)
            if known:
                due.add(r.id)
        return due

    async def claim_contract_signed(self) -> list[str]:
        """Claim the contract-signed channels' vouchers (their short schedule)."""
        due = await self.contract_signed_due()
        if not due:
            return []
        _, ids = await self.claim_pending(due)
        return ids

    def _reverted_on_chain(self, c: Claimable) -> None:
        """A contract-signed claim passed its simulation alone and reverted when mined: the wallet answers
        the checks otherwise than the vault. Its channel is refused for good, its session ended."""
        self.retries.pop(c.channel_id, None)
        if not self.store.refuse_channel(c.channel, c.cumulative, REVERTED_ON_CHAIN, self.wall_clock()):
            self.store.set_refusal_reason(c.channel_id, REVERTED_ON_CHAIN)
        log.warning(
            "channel %s (payer %s, signer %s): its claim of %d passed every check and reverted when mined; "
            "the channel and its sessions are refused from now on and it is never claimed again",
            public_hex(c.channel_id),
            c.channel.payer,
            c.channel.effective_signer,
            c.cumulative,
        )
        self.on_refused(c.channel_id)
