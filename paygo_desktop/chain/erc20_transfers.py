"""ERC-20 ``Transfer`` events: what a transaction moved from one address to another, read from its receipt.

One reading shared by everything that asks it, so they cannot count differently: the x402 payer records
what a settlement took (``x402.settlement``), and the x402 proof checks compare a settlement with its proof
(``receipts.x402_chain_check``, ``receipts.x402_upto_chain_check``). A Transfer counts when the token's own
contract logged it with exactly ERC-20's three topics (an ERC-721 Transfer has four) naming that sender and
recipient. Logs are accepted as web3 formats them (HexBytes) or as a node sends them (hex strings).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from eth_utils import keccak

from paygo_desktop.chain.log_decoding import as_bytes

TRANSFER_TOPIC = keccak(text="Transfer(address,address,uint256)")
TRANSFER_TOPIC_HEX = "0x" + TRANSFER_TOPIC.hex()


def address_topic(address: str) -> str:
    """An address as an indexed event argument's topic (lower-case hex, as a node returns it)."""
    return "0x" + "00" * 12 + address[2:].lower()


def transfers(logs: Iterable[Mapping[str, Any]], token: str, sender: str, recipient: str) -> list[int]:
    """The value of each Transfer of ``token`` from ``sender`` to ``recipient`` among ``logs``, in order."""
    wanted = [TRANSFER_TOPIC, as_bytes(address_topic(sender)), as_bytes(address_topic(recipient))]
    token = token.lower()
    return [
        int.from_bytes(as_bytes(log["data"]), "big")
        for log in logs
        if str(log["address"]).lower() == token and [as_bytes(t) for t in log["topics"]] == wanted
    ]


def moved(logs: Iterable[Mapping[str, Any]], token: str, sender: str, recipient: str) -> int:
    """Base units of ``token`` that ``logs`` show moving from ``sender`` to ``recipient``, all together."""
    return sum(transfers(logs, token, sender, recipient))
