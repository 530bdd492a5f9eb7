"""The raw ``channelState`` read (chain.channel_state_reader) agrees with web3's contract call, on anvil."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from eth_utils import keccak

from paygo_desktop.chain.channel_state_reader import (
    ChannelStateReader,
    ChannelStateReadError,
    channel_state_calldata,
    decode_channel_state,
)
from paygo_desktop.chain.vault import ChannelState
from paygo_desktop.chain.vouchers import sign_close, sign_voucher

if TYPE_CHECKING:
    from tests.chain.conftest import Env


def both(env: Env, reader: ChannelStateReader, channel_id: bytes) -> tuple[ChannelState, ChannelState]:
    return env.run(reader.channel_state(channel_id)), env.run(env.vault.channel_state(channel_id))


def test_agrees_with_vault_client_through_a_channel_life(env: Env) -> None:
    v = env.vault
    reader = ChannelStateReader(env.w3, v.address)
    ch = env.channel(token=env.usdc, salt=keccak(text="raw-read"))

    raw, web3 = both(env, reader, ch.id)  # never funded: all zero
    assert raw == web3 == ChannelState(0, 0, 0, 0, 0, False)

    env.run(v.fund(env.payer, ch, 1_000_000))
    env.run(v.claim(env.provider, ch, 300_000, sign_voucher(env.payer, env.domain(), ch, 300_000)))
    env.run(v.request_withdraw(env.payer, ch, 500_000))
    raw, web3 = both(env, reader, ch.id)
    assert raw == web3
    assert (raw.deposited, raw.claimed, raw.pending_withdraw) == (1_000_000, 300_000, 500_000)
    assert raw.withdraw_ready_at > 0

    env.advance(env.min_delay + 1)
    env.run(v.finalize_withdraw(env.payer, ch))
    big = env.channel(token=env.usdc, salt=keccak(text="raw-read-big"))
    env.mint_usdc(env.payer.address, 2**64)
    env.run(v.fund(env.payer, big, 2**64))  # a deposit above 64 bits
    raw, web3 = both(env, reader, big.id)
    assert raw == web3 and raw.deposited == 2**64
    deadline = env.chain_time() + 600
    close = sign_close(env.provider, env.domain(), ch, 400_000, deadline)
    voucher = sign_voucher(env.payer, env.domain(), ch, 400_000)
    env.run(v.close_cooperative(env.payer, ch, 400_000, deadline, voucher, close))
    raw, web3 = both(env, reader, ch.id)
    assert raw == web3
    assert raw.withdrawn > 0 and raw.closed is True


def test_every_call_reads_the_chain_afresh(env: Env) -> None:
    reader = ChannelStateReader(env.w3, env.vault.address)
    ch = env.channel(token=env.usdc, salt=keccak(text="raw-read-fresh"))
    assert env.run(reader.channel_state(ch.id)).deposited == 0
    env.run(env.vault.fund(env.payer, ch, 777))
    assert env.run(reader.channel_state(ch.id)).deposited == 777


def test_an_address_without_the_vault_is_an_error(env: Env) -> None:
    reader = ChannelStateReader(env.w3, env.stranger.address)  # no code: the node answers "0x"
    with pytest.raises(ChannelStateReadError, match="0 bytes"):
        env.run(reader.channel_state(b"\x01" * 32))


def test_calldata_and_decoding() -> None:
    cid = bytes(range(32))
    assert channel_state_calldata(cid) == "0x" + keccak(text="channelState(bytes32)")[:4].hex() + cid.hex()
    with pytest.raises(ValueError):
        channel_state_calldata(b"\x01" * 31)
    words = [1, 2, 3, 4, 5, 1]
    assert decode_channel_state("0x" + "".join(f"{w:064x}" for w in words)) == ChannelState(
        1, 2, 3, 4, 5, True
    )
    too_big = [2**128, 0, 0, 0, 0, 0]  # not a uint128: not what PayGoVault returns
    not_bool = [0, 0, 0, 0, 0, 2]  # `closed` is a bool
    for bad_words in (too_big, not_bool):
        with pytest.raises(ChannelStateReadError):
            decode_channel_state("0x" + "".join(f"{w:064x}" for w in bad_words))
    for bad in (None, "", "0x", "0x00", 5):
        with pytest.raises(ChannelStateReadError):
            decode_channel_state(bad)


def test_a_read_at_a_block_number_answers_the_state_then(env: Env) -> None:
    """What the provider's head-block view relies on: ``block`` pins the read; ``block_number``: the head."""
    v = env.vault
    reader = ChannelStateReader(env.w3, v.address)
    ch = env.channel(token=env.usdc, salt=keccak(text="raw-read-at-block"))
    env.run(v.fund(env.payer, ch, 1_000_000))
    funded_at = env.run(reader.block_number())
    assert funded_at == int(env.run(env.w3.eth.block_number))
    env.run(v.request_withdraw(env.payer, ch, 400_000))
    assert env.run(reader.block_number()) == funded_at + 1
    before = env.run(reader.channel_state(ch.id, funded_at))
    now = env.run(reader.channel_state(ch.id))
    assert (before.deposited, before.pending_withdraw) == (1_000_000, 0)
    assert (now.deposited, now.pending_withdraw) == (1_000_000, 400_000)
    assert env.run(reader.channel_state(ch.id, funded_at + 1)) == now
