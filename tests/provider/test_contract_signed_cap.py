"""What a contract-signed (EIP-1271) channel may run up before a claim lands:
``max_unclaimed_contract_signed`` seconds of service. No eth_call proves the wallet will let the vault's
claim through, so past the cap its next voucher (and a new session) is refused until a claim of the channel
lands; an honest wallet's claim lands and the cap frees. Real anvil, the real provider over loopback, no
scheduled claims (the vendor's Claim now only).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from paygo_desktop.chain.vouchers import Channel
from paygo_desktop.protocol.client import ProviderClient, ProviderHTTPError
from tests.provider.conftest import Env, Server, provider_server, voucher
from tests.provider.test_contract_wallet import _wallet_channel
from tests.provider.test_hostile_payers import claimed, hostile_channel

SVC = "market-data-feed"  # 1000 base units of USDC per second, tick 5 s, grace 5 s
TICK = 5
TICK_COST = 1000 * TICK
CAP_SECONDS = 20
CAP = 1000 * CAP_SECONDS  # the cap in base units at this service's rate


@pytest.fixture
def capped(env: Env, tmp_path: Path) -> Iterator[tuple[Server, ProviderClient]]:
    with provider_server(
        env,
        tmp_path,
        max_unclaimed_contract_signed=CAP_SECONDS,
        contract_signer_claim_interval=3600,  # no claim unless the test asks for one
    ) as server:
        client = ProviderClient(server.url, timeout=10)
        try:
            yield server, client
        finally:
            env.run(client.aclose())


def _pay_until_refused(
    server: Server, client: ProviderClient, ch: Channel, key: Any
) -> tuple[Any, int, int, ProviderHTTPError]:
    """A session paid tick by tick, on time, until the provider refuses a voucher (at most 20 ticks).
    Returns (the session, the last total accepted, its seq, the refusal)."""
    env = server.env
    s = env.run(client.start_session(SVC, ch, TICK_COST, voucher(env, ch, TICK_COST, key)))
    total, seq = TICK_COST, 0
    for _ in range(20):
        server.clock.advance(TICK)
        try:
            env.run(
                client.send_voucher(
                    s.session_id, seq + 1, total + TICK_COST, voucher(env, ch, total + TICK_COST, key)
                )
            )
        except ProviderHTTPError as exc:
            return s, total, seq, exc
        total, seq = total + TICK_COST, seq + 1
    raise AssertionError(f"twenty ticks of vouchers were all taken (last total {total}): no cap")


def test_a_hostile_contract_signer_gets_at_most_the_cap_of_service(
    capped: tuple[Server, ProviderClient],
) -> None:
    """A wallet that approves every check (and would refuse the claim on chain), never claimed: the provider
    holds vouchers for at most the cap, the session runs out there, and no new session starts on it."""
    server, client = capped
    env = server.env
    ch = hostile_channel(env, 0)
    s, total, seq, refused = _pay_until_refused(server, client, ch, env.stranger)
    assert refused.status == 409 and refused.code == "unclaimed_limit"
    assert total == CAP  # the money riding on the wallet's word: the cap, not a base unit more

    info = env.run(client.get_session(s.session_id))
    assert info.served_until - s.quote.issued_at <= CAP_SECONDS  # paid-for service: at most the cap
    server.clock.advance(info.served_until + 2 * TICK - server.clock.now)  # past its grace
    with pytest.raises(ProviderHTTPError) as over:
        env.run(
            client.send_voucher(
                s.session_id, seq + 1, total + TICK_COST, voucher(env, ch, total + TICK_COST, env.stranger)
            )
        )
    assert over.value.status == 410
    assert env.run(client.get_session(s.session_id)).status.value == "expired"

    with pytest.raises(ProviderHTTPError) as again:  # a new session starts no further from the cursor
        env.run(
            client.start_session(
                SVC, ch, total + TICK_COST, voucher(env, ch, total + TICK_COST, env.stranger)
            )
        )
    assert again.value.code == "unclaimed_limit"
    assert claimed(env, ch) == 0


def test_an_honest_contract_wallet_goes_on_once_its_claim_lands(
    capped: tuple[Server, ProviderClient],
) -> None:
    """The same cap on an honest wallet (ERC1271Wallet): refused at the cap, the vendor's claim lands, and
    the refused voucher is taken, in the same session, which goes on."""
    server, client = capped
    env = server.env
    owner = env.payer2
    ch = _wallet_channel(env, owner)
    s, total, seq, refused = _pay_until_refused(server, client, ch, owner)
    assert refused.code == "unclaimed_limit" and total == CAP

    assert env.run(client.claim_now(env.provider)).channels == ["0x" + ch.id.hex()]
    assert claimed(env, ch) == CAP
    nxt = total + TICK_COST
    deadline = time.monotonic() + 10
    while True:  # once the provider's head view has the claim's block
        try:
            ack = env.run(client.send_voucher(s.session_id, seq + 1, nxt, voucher(env, ch, nxt, owner)))
            break
        except ProviderHTTPError as exc:
            assert exc.code == "unclaimed_limit" and time.monotonic() < deadline, exc
            time.sleep(0.05)
    assert ack.cumulative_amount == nxt
    server.clock.advance(TICK)
    ack = env.run(
        client.send_voucher(s.session_id, seq + 2, nxt + TICK_COST, voucher(env, ch, nxt + TICK_COST, owner))
    )
    assert ack.cumulative_amount == nxt + TICK_COST
