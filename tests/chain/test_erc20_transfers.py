"""What a transaction moved from one address to another (chain/erc20_transfers.py): the x402 payer records
it as what a settlement took, and the proof checks compare it with a proof. Only the token's own ERC-20
Transfers from that sender to that recipient count; logs come as a node sends them (hex strings) or as web3
formats them (HexBytes)."""

from __future__ import annotations

from typing import Any

from hexbytes import HexBytes

from paygo_desktop.chain.erc20_transfers import TRANSFER_TOPIC_HEX, address_topic, moved, transfers

TOKEN = "0x036CbD53842c5426634e7929541eC2318f3dCF7e"
OTHER_TOKEN = "0x" + "77" * 20
PAYER = "0x" + "aB" * 20
PAY_TO = "0x" + "Cd" * 20
SOMEONE = "0x" + "ef" * 20


def transfer_log(value: int, sender: str = PAYER, to: str = PAY_TO, token: str = TOKEN) -> dict[str, Any]:
    return {
        "address": token,
        "topics": [TRANSFER_TOPIC_HEX, address_topic(sender), address_topic(to)],
        "data": "0x" + value.to_bytes(32, "big").hex(),
    }


def as_web3(log: dict[str, Any]) -> dict[str, Any]:
    return {**log, "topics": [HexBytes(t) for t in log["topics"]], "data": HexBytes(log["data"])}


def test_transfers_from_the_payer_to_the_payee_add_up() -> None:
    logs = [transfer_log(30_000), transfer_log(20_000)]
    assert moved(logs, TOKEN, PAYER, PAY_TO) == 50_000
    shouted = PAYER.upper().replace("X", "x")
    assert moved([as_web3(log) for log in logs], TOKEN.lower(), shouted, PAY_TO) == 50_000
    assert transfers(logs, TOKEN, PAYER, PAY_TO) == [30_000, 20_000]


def test_only_the_tokens_own_transfers_between_those_two_count() -> None:
    four_topics = {**transfer_log(5), "topics": [*transfer_log(5)["topics"], "0x" + "00" * 31 + "05"]}
    approval = {**transfer_log(7), "topics": ["0x" + "11" * 32, *transfer_log(7)["topics"][1:]]}
    logs = [
        transfer_log(1, to=SOMEONE),  # the payer's money to someone else
        transfer_log(2, sender=SOMEONE),  # someone else's money to the payee
        transfer_log(3, token=OTHER_TOKEN),  # another token
        transfer_log(4, sender=PAY_TO, to=PAYER),  # back the other way
        four_topics,  # an ERC-721 Transfer (its token id indexed)
        approval,  # another event with the same parties
    ]
    assert moved(logs, TOKEN, PAYER, PAY_TO) == 0
    assert transfers(logs, TOKEN, PAYER, PAY_TO) == []
    assert moved([*logs, transfer_log(9)], TOKEN, PAYER, PAY_TO) == 9
