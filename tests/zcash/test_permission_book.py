"""The permission book against the real reference provider (Zcash ledger mode) and a real store and wallet:
buying, the token sealed at rest, verification states, refresh, revoke, the engine's token lookup."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from paygo_desktop.context import AppContext
from paygo_desktop.paths import DataDir
from paygo_desktop.protocol.client import ProviderClient
from paygo_desktop.wallet import KdfParams, Wallet
from paygo_desktop.wallet.errors import WalletLocked
from paygo_desktop.zcash.book import PermissionBookError
from paygo_desktop.zcash.offer_check import UnsafeOffer, check_offer
from paygo_desktop.zcash.permissions import PermissionStatus
from paygo_desktop.zcash.terms_input import parse_terms
from paygo_desktop.zcash.token_seal import TokenSealError
from paygo_desktop.zcash.zip321 import parse_uri
from tests.zcash.provider_fixture import (  # noqa: F401 - the fixture
    MIN_CONF,
    SERVICE,
    USER_MAIN,
    USER_T,
    USER_Z,
    ZcashProvider,
    zcash_provider,
)

PHRASE = "test test test test test test test test test test test junk"
ACCOUNT = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
PASSWORD = "correct horse 1"
TERMS = parse_terms("0.01", "0.004", 30)  # 1,000,000 zat at 400,000 zat/h: 2.5 hours


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[AppContext]:
    context = AppContext.open(DataDir(tmp_path / "data"))
    wallet = Wallet(context.data_dir.wallet_dir, context.accounts, kdf=KdfParams(n=2**4))
    context.__dict__["wallet"] = wallet
    wallet.create_from_mnemonic(PHRASE, PASSWORD, "Main")
    wallet.unlock(PASSWORD)
    yield context
    context.close()


@pytest.fixture
def book(ctx: AppContext, zcash_provider: ZcashProvider) -> Any:  # noqa: F811
    b = ctx.zcash_book
    b.clock = zcash_provider.clock
    return b


async def _pay(url: str, address: str, amount: int, memo: str | None, blocks: int) -> None:
    async with ProviderClient(url) as c:
        await c.ledger_pay(address, amount, memo)
        if blocks:
            await c.ledger_mine(blocks)


async def test_buy_pay_verify_refresh_and_use(book: Any, zcash_provider: ZcashProvider) -> None:  # noqa: F811
    url = zcash_provider.url
    view = await book.create(url, ACCOUNT, USER_Z, TERMS)
    assert view.provider_name == "Zcash test provider" and view.user_address == USER_Z
    assert view.status is PermissionStatus.PENDING_PAYMENT and view.verification_text == "Awaiting payment"
    assert (view.amount_zat, view.rate_per_hour_zat) == (1_000_000, 400_000)
    assert (view.max_hours, view.used_hours, view.remaining_hours) == ("2.50", "0.00", "2.50")
    assert view.is_shielded and view.has_token
    payment = parse_uri(view.payment_uri).payments[0]
    assert payment.memo == f"paygo:perm:{view.permission_id}".encode()

    # "I have paid" before paying, then a payment in the mempool, then confirmed
    assert (await book.verify(url, view.permission_id)).verification == "awaiting_payment"
    await _pay(url, view.pay_address, view.amount_zat, payment.memo_text, blocks=0)
    seen = await book.verify(url, view.permission_id)
    assert seen.verification == "seen" and seen.status is PermissionStatus.PENDING_PAYMENT
    await _pay(url, view.pay_address, 1, payment.memo_text, blocks=1)  # mines the first payment too
    assert (await book.verify(url, view.permission_id)).verification_text == (
        "Payment seen, waiting for confirmations (1 confirmation so far)"
    )
    async with ProviderClient(url) as c:
        await c.ledger_mine(MIN_CONF)
    active = await book.verify(url, view.permission_id)
    assert active.status is PermissionStatus.ACTIVE and active.verification_text == "Payment confirmed"

    # the engine's way in: token_lookup; it meters the session itself (here: half an hour) and the
    # provider's deductions come back beside that with a refresh
    token = book.token_lookup(view.permission_id)
    async with ProviderClient(url) as c:
        session = await c.start_zcash_session(view.permission_id, SERVICE, token)
        zcash_provider.clock.advance(1800)
        await c.end_zcash_session(session.session_id, token)
    book.record_metered(view.permission_id, 200_000, 1800)
    report = await book.refresh_all()
    assert not report.problems and [v.permission_id for v in report.updated] == [view.permission_id]
    used = book.get(url, view.permission_id)
    assert (used.used_hours, used.remaining_hours, used.deducted_zat) == ("0.50", "2.00", 200_000)
    assert used.trust_warning is None  # the provider's figures agree with the app's meter

    # the fallback choice is the user's and stays
    book.set_allow_fallback(url, view.permission_id, True)
    assert book.get(url, view.permission_id).allow_fallback is True

    revoked = await book.revoke(url, view.permission_id)
    assert revoked.status is PermissionStatus.REVOKED and revoked.status_text == "Revoked"
    assert (await book.refresh_all()).updated == []  # a permission that is over is not asked about again


async def test_the_token_is_never_stored_in_clear(
    book: Any,
    ctx: AppContext,
    zcash_provider: ZcashProvider,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    view = await book.create(zcash_provider.url, ACCOUNT, USER_Z, TERMS)
    await book.revoke(zcash_provider.url, view.permission_id)  # sends the token
    token = book.token_lookup(view.permission_id)
    assert len(token) > 20
    ctx.settings.save()
    ctx.store.close()
    for path in ctx.data_dir.root.rglob("*"):
        if path.is_file():
            assert token.encode() not in path.read_bytes(), path
    with sqlite3.connect(ctx.store.path) as db:
        (sealed,) = db.execute("SELECT token_sealed FROM zcash_permissions").fetchone()
    assert sealed.startswith("v1.") and token not in sealed
    assert caplog.records and token not in caplog.text

    ctx.wallet.lock()
    with pytest.raises(WalletLocked):
        book.token_lookup(view.permission_id)
    with pytest.raises(WalletLocked):  # nothing is bought while the token could not be kept
        await book.create(zcash_provider.url, ACCOUNT, USER_Z, TERMS)
    ctx.wallet.unlock(PASSWORD)
    assert book.token_lookup(view.permission_id) == token
    with pytest.raises(PermissionBookError, match="not in the app's records"):
        book.token_lookup("zp_unknown")


async def test_token_sealed_for_one_permission_does_not_open_for_another(
    book: Any,
    ctx: AppContext,
    zcash_provider: ZcashProvider,  # noqa: F811
) -> None:
    a = await book.create(zcash_provider.url, ACCOUNT, USER_Z, TERMS)
    b = await book.create(zcash_provider.url, ACCOUNT, USER_T, TERMS)
    assert not parse_uri(b.payment_uri).payments[0].memo or b.is_shielded
    with sqlite3.connect(ctx.store.path) as db:  # someone swaps the sealed tokens in the database
        db.execute(
            "UPDATE zcash_permissions SET token_sealed = "
            "(SELECT token_sealed FROM zcash_permissions WHERE permission_id = ?) WHERE permission_id = ?",
            (a.permission_id, b.permission_id),
        )
    with pytest.raises(TokenSealError):
        book.token_lookup(b.permission_id)


async def test_bad_input_is_refused_before_asking_the_provider(
    book: Any,
    zcash_provider: ZcashProvider,  # noqa: F811
) -> None:
    with pytest.raises(PermissionBookError, match="Your Zcash address is not valid"):
        await book.create(zcash_provider.url, ACCOUNT, "zs1notanaddress", TERMS)
    assert book.all() == []
    # the provider is on testnet: a mainnet address is refused by it, with its reason
    with pytest.raises(Exception, match="wrong_network"):
        await book.create(zcash_provider.url, ACCOUNT, USER_MAIN, TERMS)
    assert book.all() == []


async def test_an_offer_that_differs_from_the_request_is_refused(zcash_provider: ZcashProvider) -> None:  # noqa: F811
    from paygo_desktop.zcash.addresses import parse_address

    async with ProviderClient(zcash_provider.url) as c:
        offer = await c.create_zcash_permission(USER_Z, TERMS.amount_zat, TERMS.rate_zat_per_hour)
        plain = await c.create_zcash_permission(USER_T, TERMS.amount_zat, TERMS.rate_zat_per_hour)
    user = parse_address(USER_Z)
    now = int(zcash_provider.clock())
    check_offer(offer, user, TERMS, now)  # the real answer passes
    other = parse_uri(plain.payment_uri).payments[0]
    cases = {
        "other terms": offer.model_copy(update={"rate_per_hour_zat": 1}),
        "wrong memo": offer.model_copy(update={"payment_uri": offer.payment_uri.split("&memo=")[0]}),
        "does not pay": offer.model_copy(update={"payment_address": other.address}),
        "not a valid Zcash address": offer.model_copy(update={"payment_address": "ztestsapling1xyz"}),
        "token": offer.model_copy(update={"token": None}),
        "expire at another time": offer.model_copy(update={"expires_at": offer.expires_at - 86400}),
    }
    for reason, bad in cases.items():
        with pytest.raises(UnsafeOffer, match=reason):
            check_offer(bad, user, TERMS, now)
    with pytest.raises(UnsafeOffer, match="more than 10 minutes away"):  # as if bought a day ago
        check_offer(offer, user, TERMS, now + 86400)
    mainnet_user = parse_address(USER_MAIN)
    with pytest.raises(UnsafeOffer, match="testnet, but your address is on mainnet"):
        check_offer(offer, mainnet_user, TERMS, now)


def test_metered_zat_is_only_raised(book: Any, ctx: AppContext) -> None:
    from tests.zcash.test_zcash_reminders import add_permission

    add_permission(ctx.store, "zp_meter", status="active")
    book.record_metered("zp_meter", 500, 18)
    book.record_metered("zp_meter", 300, 10)  # a late, older figure
    [view] = book.all()
    assert (view.metered_zat, view.used_seconds) == (500, 18)
    with pytest.raises(ValueError):
        book.record_metered("zp_meter", -1, 0)
    with pytest.raises(ValueError):
        book.record_metered("zp_meter", 1, -1)
