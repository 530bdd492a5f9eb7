"""The escrow's transaction builders and address checks, without a node."""

from __future__ import annotations

import pytest
from eth_abi import decode as abi_decode

from paygo_desktop.chain.vouchers import Channel
from paygo_desktop.escrow import requests
from paygo_desktop.escrow.service import describe_wait
from paygo_desktop.money import ETH, Amount, Asset

CHECKSUMMED = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
USDC = Asset("USDC", 6, "0x036CbD53842c5426634e7929541eC2318f3dCF7e")


def test_addresses_are_checked_for_typos() -> None:
    assert requests.parse_recipient(f"  {CHECKSUMMED}\n") == CHECKSUMMED
    assert requests.parse_recipient(CHECKSUMMED.lower()) == CHECKSUMMED  # no checksum given: accepted
    typo = CHECKSUMMED[:-1] + "D"  # one capital letter changed
    with pytest.raises(requests.AddressError, match="checksum"):
        requests.parse_recipient(typo)
    with pytest.raises(requests.AddressError, match="40 hexadecimal"):
        requests.parse_recipient(CHECKSUMMED[:-2])
    with pytest.raises(requests.AddressError, match="40 hexadecimal"):
        requests.parse_recipient("0x" + "g" * 40)
    with pytest.raises(requests.AddressError, match="ENS"):
        requests.parse_recipient("vitalik.eth")
    with pytest.raises(requests.AddressError, match="zero address"):
        requests.parse_recipient("0x" + "0" * 40)
    with pytest.raises(requests.AddressError, match="Enter"):
        requests.parse_recipient("   ")


def test_eth_send_is_a_plain_transfer_and_a_token_send_calls_transfer() -> None:
    eth = requests.send(Amount(ETH, 10**17), CHECKSUMMED)
    assert (eth.to, eth.value, eth.data) == (CHECKSUMMED, 10**17, b"")
    assert "0.1 ETH" in eth.description
    token = requests.send(Amount(USDC, 2_500_000), CHECKSUMMED)
    assert token.to == USDC.address and token.value == 0
    assert token.data[:4].hex() == "a9059cbb"  # transfer(address,uint256)
    assert abi_decode(["address", "uint256"], token.data[4:]) == (CHECKSUMMED.lower(), 2_500_000)
    with pytest.raises(requests.RequestError, match="greater than zero"):
        requests.send(Amount(ETH, 0), CHECKSUMMED)


def test_a_deposit_in_another_asset_than_the_channel_is_refused() -> None:
    from web3 import AsyncHTTPProvider, AsyncWeb3

    from paygo_desktop.chain.vault import VaultClient

    vault = VaultClient(AsyncWeb3(AsyncHTTPProvider("http://127.0.0.1:9")), "0x" + "11" * 20)
    channel = Channel(
        payer=CHECKSUMMED, provider="0x" + "22" * 20, token=USDC.address or "", withdraw_delay=5
    )
    with pytest.raises(ValueError, match="not this channel's token"):
        requests.fund(vault, channel, Amount(ETH, 1))
    request = requests.fund(vault, channel, Amount(USDC, 7))
    assert request.value == 0  # a token deposit carries no ETH
    approve = requests.approve(Amount(USDC, 7), vault.address, "test")
    assert abi_decode(["address", "uint256"], approve.data[4:])[1] == 7  # exactly the deposit


def test_waits_are_said_in_words() -> None:
    assert describe_wait(12) == "12 s"
    assert describe_wait(250) == "4 min 10 s"
    assert describe_wait(2 * 3600 + 300) == "2 h 5 min"
    assert describe_wait(3 * 86_400 + 4 * 3600) == "3 days 4 h"
