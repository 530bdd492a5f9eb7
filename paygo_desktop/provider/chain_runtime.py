"""The provider's chain-side objects (vault, domain, channel states at the head, voucher signature checks),
created inside the server's event loop."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from paygo_desktop.chain.vault import ChannelState, VaultClient
from paygo_desktop.chain.vouchers import VaultDomain
from paygo_desktop.provider.voucher_signatures import VoucherSignatures


class ChannelStates(Protocol):
    """On-chain channel states at the head (``provider.chain_view.ChainView`` when served)."""

    async def channel_state(
        self, channel_id: bytes, *, latest: bool = False, shared: bool = False
    ) -> ChannelState: ...

    def held(self, channel_id: bytes) -> ChannelState | None: ...


@dataclass
class Runtime:
    """Chain-side objects, created inside the server's event loop (lifespan)."""

    vault: VaultClient
    domain: VaultDomain
    states: ChannelStates
    signatures: VoucherSignatures = field(init=False)

    def __post_init__(self) -> None:
        self.signatures = VoucherSignatures(self.vault, self.domain)
