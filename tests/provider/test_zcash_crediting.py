"""The crediting rule (provider.zcash_credit) as a hostile payer tries it: each received note credits
exactly one permission, once — the permission whose own address it was paid to; a memo counts only on an
address that is no permission's. Collisions (A's address with B's memo), reuse (a paid permission's address
paid again), replays (polling, a note in two wallet listings under two address strings) and several
outputs of one transaction, in ledger mode (the provider's local ledger) and in Zallet mode (the fake
Zallet wallet of test_zcash_wallet_rpc: no Zallet node can run here). The provider is the real one over
loopback; no chain is needed for Zcash permissions."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from paygo_desktop.protocol import zcash_models as zm
from paygo_desktop.protocol.client import PaymentRequired, ProviderClient
from paygo_desktop.zcash.addresses import Network, Typecode, encode_sapling, encode_unified
from tests.provider.test_zcash_wallet_rpc import (  # noqa: F401 - the fixture
    PASSWORD,
    USER,
    FakeZallet,
    _note,
    zallet,
)
from tests.zcash.provider_fixture import (  # noqa: F401 - the fixture
    MIN_CONF,
    SERVICE,
    USER_Z,
    ZcashProvider,
    zcash_provider,
    zcash_provider_running,
)

AMOUNT, RATE = 1_000_000, 400_000
SHARED = encode_sapling(Network.TEST, bytes([3] * 43))  # an address of the wallet that is no permission's
ACTIVE, PENDING = zm.ZcashPermissionStatus.active, zm.ZcashPermissionStatus.pending_payment


async def _paid(c: ProviderClient, p: zm.ZcashPermission, amount: int = AMOUNT) -> zm.ZcashPermission:
    await c.ledger_pay(p.payment_address, amount, p.memo)
    await c.ledger_mine(MIN_CONF)
    return await c.verify_zcash_permission(p.id)


# ---------------------------------------------------------------------------------------------- ledger mode


@pytest.mark.parametrize("verified_first", ["A", "B"])
async def test_one_note_to_as_address_with_bs_memo_credits_a_only(
    zcash_provider: ZcashProvider,  # noqa: F811
    verified_first: str,
) -> None:
    async with ProviderClient(zcash_provider.url) as c:
        a = await c.create_zcash_permission(USER_Z, AMOUNT, RATE)
        b = await c.create_zcash_permission(USER_Z, AMOUNT, RATE)
        await c.ledger_pay(a.payment_address, AMOUNT, b.memo)  # one payment, B's memo on A's address
        await c.ledger_mine(MIN_CONF)
        order = [b, a] if verified_first == "B" else [a, b]
        seen = {p.id: await c.verify_zcash_permission(p.id) for p in order}
        seen.update({p.id: await c.verify_zcash_permission(p.id) for p in order})  # and polled again
        assert (seen[a.id].status, seen[a.id].received_zat) == (ACTIVE, AMOUNT)
        assert (seen[b.id].status, seen[b.id].received_zat) == (PENDING, 0)
        assert seen[b.id].verification is zm.ZcashVerification.awaiting_payment
        with pytest.raises(PaymentRequired):  # 1,000,000 zat paid: one permission's worth of service
            await c.start_zcash_session(b.id, SERVICE, b.token or "")
        assert (
            await c.start_zcash_session(a.id, SERVICE, a.token or "")
        ).status is zm.ZcashSessionStatus.live


async def test_a_paid_permissions_address_paid_again_credits_no_other_permission(
    zcash_provider: ZcashProvider,  # noqa: F811
) -> None:
    async with ProviderClient(zcash_provider.url) as c:
        a = await c.create_zcash_permission(USER_Z, AMOUNT, RATE)
        assert (await _paid(c, a)).status is ACTIVE
        b = await c.create_zcash_permission(USER_Z, AMOUNT, RATE)
        await c.ledger_pay(a.payment_address, AMOUNT, b.memo)  # A's address reused, with B's memo
        await c.ledger_mine(MIN_CONF)
        got = await c.verify_zcash_permission(b.id)
        assert (got.status, got.received_zat) == (PENDING, 0)
        # the memo is the key only on an address that is no permission's: there it pays B
        await c.ledger_pay(SHARED, AMOUNT, b.memo)
        await c.ledger_pay(SHARED, AMOUNT, "paygo:perm:zp_nobody")  # names no permission: held for the vendor
        await c.ledger_mine(MIN_CONF)
        got = await c.verify_zcash_permission(b.id)
        assert (got.status, got.received_zat) == (ACTIVE, AMOUNT)
        assert (await c.get_zcash_permission(a.id)).received_zat == AMOUNT


async def test_polling_counts_a_note_once_and_a_top_up_completes_the_payment(
    zcash_provider: ZcashProvider,  # noqa: F811
) -> None:
    async with ProviderClient(zcash_provider.url) as c:
        a = await c.create_zcash_permission(USER_Z, AMOUNT, RATE)
        half = AMOUNT // 2
        for _ in range(3):  # the same note seen by three polls
            got = await _paid(c, a, half) if _ == 0 else await c.verify_zcash_permission(a.id)
            assert (got.status, got.verification, got.received_zat) == (
                PENDING,
                zm.ZcashVerification.underpaid,
                half,
            )
        got = await _paid(c, a, AMOUNT - half)  # a second payment to the same address adds up
        assert (got.status, got.received_zat) == (ACTIVE, AMOUNT)


async def test_each_output_of_one_transaction_is_its_own_note(
    zcash_provider: ZcashProvider,  # noqa: F811
) -> None:
    ledger = zcash_provider.app.state.zcash.verifier
    async with ProviderClient(zcash_provider.url) as c:
        a = await c.create_zcash_permission(USER_Z, AMOUNT, RATE)
        b = await c.create_zcash_permission(USER_Z, AMOUNT, RATE)
        half = AMOUNT // 2
        outputs = ledger.pay_outputs(
            [
                (a.payment_address, half, a.memo),  # two outputs to A: together A's amount
                (a.payment_address, AMOUNT - half, a.memo),
                (b.payment_address, AMOUNT, a.memo),  # B's address, A's memo: pays B, not A
            ]
        )
        assert len({o.txid for o in outputs}) == 1 and [o.output_index for o in outputs] == [0, 1, 2]
        await c.ledger_mine(MIN_CONF)
        got_a = await c.verify_zcash_permission(a.id)
        got_b = await c.verify_zcash_permission(b.id)
        assert (got_a.status, got_a.received_zat) == (ACTIVE, AMOUNT)
        assert (got_b.status, got_b.received_zat) == (ACTIVE, AMOUNT)


# ---------------------------------------------------------------------------------------------- Zallet mode

ADDR_A = encode_unified(
    {Typecode.ORCHARD: bytes([11] * 43), Typecode.SAPLING: bytes([12] * 43)}, Network.TEST
)
ADDR_B = encode_unified(
    {Typecode.ORCHARD: bytes([13] * 43), Typecode.SAPLING: bytes([14] * 43)}, Network.TEST
)
SAPLING_OF_A = encode_sapling(Network.TEST, bytes([12] * 43))  # A's Sapling receiver on its own


class Wallet:
    """The fake Zallet's notes: ``z_listreceivedbyaddress`` lists those to the address asked for,
    ``z_listunspent`` all of them, each under the address string ``listed_as`` gives it there."""

    def __init__(self, fake: FakeZallet) -> None:
        self.notes: list[dict[str, Any]] = []
        self.listed_as: dict[str, str] = {}
        addresses = itertools.cycle([ADDR_A, ADDR_B])
        fake.handlers["z_getaddressforaccount"] = lambda p: {"account": p[0], "address": next(addresses)}
        fake.handlers["z_listreceivedbyaddress"] = lambda p: [n for n in self.notes if n["address"] == p[0]]
        fake.handlers["z_listunspent"] = lambda p: [
            {**n, "address": self.listed_as.get(n["address"], n["address"])} for n in self.notes
        ]


@pytest.fixture
def zallet_provider(zallet: FakeZallet, tmp_path: Path) -> Iterator[tuple[ZcashProvider, Wallet]]:  # noqa: F811
    wallet = Wallet(zallet)
    zcash = {
        "mode": "zallet",
        "rpc_url": zallet.url,
        "rpc_user": USER,
        "rpc_password": PASSWORD,
        "min_confirmations": MIN_CONF,
    }
    with zcash_provider_running(tmp_path, zcash) as provider:
        yield provider, wallet


async def _two(c: ProviderClient) -> tuple[zm.ZcashPermission, zm.ZcashPermission]:
    a = await c.create_zcash_permission(USER_Z, AMOUNT, RATE)
    b = await c.create_zcash_permission(USER_Z, AMOUNT, RATE)
    assert (a.payment_address, b.payment_address) == (ADDR_A, ADDR_B)
    return a, b


@pytest.mark.parametrize("verified_first", ["A", "B"])
async def test_zallet_one_note_to_as_address_with_bs_memo_credits_a_only(
    zallet_provider: tuple[ZcashProvider, Wallet], verified_first: str
) -> None:
    provider, wallet = zallet_provider
    async with ProviderClient(provider.url) as c:
        a, b = await _two(c)
        wallet.notes.append(_note("aa" * 32, ADDR_A, AMOUNT, MIN_CONF, b.memo))
        order = [b, a] if verified_first == "B" else [a, b]
        seen = {p.id: await c.verify_zcash_permission(p.id) for p in order}
        assert (seen[a.id].status, seen[a.id].received_zat) == (ACTIVE, AMOUNT)
        assert (seen[b.id].status, seen[b.id].received_zat) == (PENDING, 0)
        with pytest.raises(PaymentRequired):
            await c.start_zcash_session(b.id, SERVICE, b.token or "")


async def test_zallet_a_note_in_both_listings_under_two_address_strings_counts_once(
    zallet_provider: tuple[ZcashProvider, Wallet],
) -> None:
    provider, wallet = zallet_provider
    async with ProviderClient(provider.url) as c:
        a, _b = await _two(c)
        # half the amount, found by address (as A's unified address) and by memo (as its Sapling receiver)
        wallet.notes.append(_note("aa" * 32, ADDR_A, AMOUNT // 2, MIN_CONF, a.memo, pool="sapling"))
        wallet.listed_as[ADDR_A] = SAPLING_OF_A
        for _ in range(2):
            got = await c.verify_zcash_permission(a.id)
            assert (got.status, got.verification, got.received_zat) == (
                PENDING,
                zm.ZcashVerification.underpaid,
                AMOUNT // 2,
            )


async def test_zallet_each_output_of_one_transaction_is_its_own_note(
    zallet_provider: tuple[ZcashProvider, Wallet],
) -> None:
    provider, wallet = zallet_provider
    async with ProviderClient(provider.url) as c:
        a, b = await _two(c)
        half = AMOUNT // 2
        wallet.notes += [
            _note("cc" * 32, ADDR_A, half, MIN_CONF, a.memo, outindex=0),
            _note("cc" * 32, ADDR_A, AMOUNT - half, MIN_CONF, a.memo, outindex=1),
            _note("cc" * 32, ADDR_B, AMOUNT, MIN_CONF, a.memo, outindex=2),  # B's address, A's memo
            _note("cc" * 32, ADDR_A, 7, MIN_CONF, a.memo, outindex=0, pool="sapling"),  # another pool
        ]
        got_a = await c.verify_zcash_permission(a.id)
        got_b = await c.verify_zcash_permission(b.id)
        assert (got_a.status, got_a.received_zat) == (ACTIVE, AMOUNT + 7)
        assert (got_b.status, got_b.received_zat) == (ACTIVE, AMOUNT)
