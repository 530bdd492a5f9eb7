"""Payers whose channel signer is a contract wallet (EIP-1271): the provider accepts what the vault accepts.

The wallet is resources/contracts/testing ERC1271Wallet (it approves the ECDSA signatures of its owner),
deployed on the real anvil; the provider runs over loopback.
"""

from __future__ import annotations

import os

import pytest

from paygo_desktop.chain.vouchers import Channel, verify_voucher
from paygo_desktop.protocol.client import ProviderClient, ProviderHTTPError
from tests.provider.conftest import Env, Server, open_channel, voucher

SVC = "market-data-feed"  # 1000 base units of USDC per second, tick 5 s, grace 5 s
TICK = 5
TICK_COST = 1000 * TICK


def _wallet_channel(env: Env, owner: object) -> Channel:
    wallet = env.deploy("ERC1271Wallet", owner.address)  # type: ignore[attr-defined]
    ch = Channel(
        payer=wallet,
        provider=env.provider.address,
        token=env.usdc,
        withdraw_delay=env.min_delay,
        salt=os.urandom(32),
    )
    env.run(env.vault.fund(env.stranger, ch, 1_000_000))  # anyone may fund a contract wallet's channel
    return ch


def test_contract_wallet_vouchers_are_accepted_and_claimed(server: Server, client: ProviderClient) -> None:
    env, owner = server.env, server.env.payer2
    ch = _wallet_channel(env, owner)
    first = voucher(env, ch, TICK_COST, owner)
    assert not verify_voucher(env.domain(), ch, TICK_COST, first)  # ECDSA alone would refuse it

    with pytest.raises(ProviderHTTPError) as refused:  # the wallet does not approve a stranger's signature
        env.run(client.start_session(SVC, ch, TICK_COST, voucher(env, ch, TICK_COST, env.stranger)))
    assert refused.value.status == 400 and refused.value.code == "bad_signature"

    s = env.run(client.start_session(SVC, ch, TICK_COST, first))
    server.clock.advance(TICK)
    second = voucher(env, ch, 2 * TICK_COST, owner)
    assert env.run(client.send_voucher(s.session_id, 1, 2 * TICK_COST, second)).seq == 1
    with pytest.raises(ProviderHTTPError) as refused:
        env.run(client.send_voucher(s.session_id, 2, 3 * TICK_COST, voucher(env, ch, 3 * TICK_COST)))
    assert refused.value.status == 400 and refused.value.code == "bad_signature"

    # the same voucher sent again is accepted from memory, without asking the wallet again
    signatures = server.app.state.core.rt.signatures
    asked: list[str] = []
    real = signatures.erc1271

    async def counting(signer: str, digest: bytes, signature: bytes) -> bool:
        asked.append(signer)
        return bool(await real(signer, digest, signature))

    signatures.erc1271 = counting
    assert env.run(client.send_voucher(s.session_id, 2, 2 * TICK_COST, second)).seq == 2
    assert asked == []

    env.run(client.stop_session(s.session_id, access_token=s.access.token))
    result = env.run(client.claim_now(env.provider))
    assert result.channels == ["0x" + ch.id.hex()]
    assert env.run(env.vault.channel_state(ch)).claimed == 2 * TICK_COST


def test_claim_leaves_out_a_wallet_that_no_longer_accepts(server: Server, client: ProviderClient) -> None:
    """One refused signature reverts a whole claimBatch: the claimer re-asks the wallet and skips it."""
    env, owner = server.env, server.env.payer2
    wallet_ch = _wallet_channel(env, owner)
    eoa_ch = open_channel(env, 1_000_000)
    for ch, key in ((wallet_ch, owner), (eoa_ch, env.payer)):
        s = env.run(client.start_session(SVC, ch, TICK_COST, voucher(env, ch, TICK_COST, key)))
        env.run(client.stop_session(s.session_id, access_token=s.access.token))
    env.rpc("anvil_setCode", [wallet_ch.payer, "0x"])  # the wallet is gone: the vault would refuse it now

    result = env.run(client.claim_now(env.provider))
    assert result.channels == ["0x" + eoa_ch.id.hex()]
    assert env.run(env.vault.channel_state(eoa_ch)).claimed == TICK_COST
    assert env.run(env.vault.channel_state(wallet_ch)).claimed == 0
