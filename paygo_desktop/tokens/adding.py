"""Adding an ERC-20 by its address: read what the contract says, show it with every warning, save it once
the user confirmed.

``propose_token`` reads the contract (``chain.token_metadata``: bounded, hostile-safe) and returns a
``TokenProposal``: the asset as it would be added, its name, and the look-alike warnings
(``tokens.lookalike``) against every token the app already knows on the network. Nothing is stored until
``confirm_token``; an address the app already lists is refused with the name it is listed under.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_utils import to_checksum_address

from paygo_desktop.chain.token_metadata import read_token_metadata
from paygo_desktop.errors import UserFacingError
from paygo_desktop.money import Asset
from paygo_desktop.networks import Network
from paygo_desktop.store.custom_tokens import CustomTokenRepository
from paygo_desktop.store.database import Store
from paygo_desktop.tokens.lookalike import lookalike_warnings


class TokenRefused(UserFacingError):
    """The address cannot be added as a token (the reason is in the message)."""


@dataclass(frozen=True)
class TokenProposal:
    network_key: str
    chain_id: int
    asset: Asset
    name: str
    warnings: tuple[str, ...]

    def summary(self) -> str:
        named = f" ({self.name})" if self.name and self.name != self.asset.symbol else ""
        return (
            f"{self.asset.symbol}{named}, {self.asset.decimals} decimals, at {self.asset.address} "
            f"on {self.network_key}"
        )


def parse_token_address(text: str) -> str:
    value = text.strip()
    if not value.startswith(("0x", "0X")) or len(value) != 42:
        raise TokenRefused("A token's address is 0x followed by 40 hexadecimal characters.")
    try:
        int(value[2:], 16)
    except ValueError:
        raise TokenRefused("A token's address is 0x followed by 40 hexadecimal characters.") from None
    return str(to_checksum_address(value.lower()))


async def propose_token(
    w3: Any, network: Network, address_text: str, known: Sequence[Asset], *, holder: str | None = None
) -> TokenProposal:
    """What the contract at ``address_text`` says about itself, with the warnings it earns."""
    address = parse_token_address(address_text)
    for asset in known:
        if asset.address is not None and asset.address.lower() == address.lower():
            raise TokenRefused(f"This address is already listed, as {asset.symbol}.")
    metadata = await read_token_metadata(w3, address, holder=holder)
    asset = Asset(metadata.symbol, metadata.decimals, metadata.address)
    warnings = lookalike_warnings(metadata.symbol, metadata.address, [network.native, *known])
    return TokenProposal(network.key, network.chain_id, asset, metadata.name, tuple(warnings))


def confirm_token(store: Store, proposal: TokenProposal) -> None:
    """The user confirmed ``proposal``: keep the token for its network."""
    CustomTokenRepository(store).add(proposal.network_key, proposal.chain_id, proposal.asset, proposal.name)
