"""The permission book: the user's Zcash spending permissions, kept in the ``zcash_permissions`` table.

It buys a permission from a provider (the provider's answer is checked before anything is kept, and
every later answer about it too: ``offer_check``), keeps the app's own record of it (``cross_check``: terms,
rate and expiry as bought, the app's own meter and status), asks the provider what it says (kept beside
the record, never over it; each figure that disagrees is flagged), revokes, and hands the bearer token to
the session engine through ``token_lookup``. The token is sealed under the buying account's key
(``token_seal``): with the wallet locked nothing can read it. Time comes from an injected clock (Unix
seconds).

Reminders (``reminders``) and the trust-but-verify check (``trust``) are computed from the book's rows.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from paygo_desktop.errors import UserFacingError
from paygo_desktop.store.database import Store
from paygo_desktop.store.models import ZcashPermissionRow
from paygo_desktop.store.notices import NoticeLog
from paygo_desktop.store.worker import StoreWorker
from paygo_desktop.zcash import cross_check, reminders, trust
from paygo_desktop.zcash.addresses import InvalidAddress, parse_address
from paygo_desktop.zcash.offer_check import check_offer, check_payment_request
from paygo_desktop.zcash.permissions import PermissionStatus, PermissionTerms
from paygo_desktop.zcash.terms_input import TermsInput, hours_text
from paygo_desktop.zcash.token_seal import open_token, seal_token

log = logging.getLogger(__name__)

Clock = Callable[[], float]
KeyForAccount = Callable[[str], bytes]
"""The private key of an account of the unlocked wallet (raises ``WalletLocked`` while locked)."""
ClientFactory = Callable[[str], Any]
"""A ``ProviderClient`` for a provider URL (an async context manager)."""


class PermissionBookError(UserFacingError):
    """A permission cannot be bought, found or used; the message says why."""


VERIFICATION_TEXT = {
    None: "Not checked yet",
    "awaiting_payment": "Awaiting payment",
    "seen": "Payment seen, waiting for confirmations",
    "underpaid": "Underpaid",
    "confirmed": "Payment confirmed",
}
STATUS_TEXT = {
    PermissionStatus.PENDING_PAYMENT: "Waiting for payment",
    PermissionStatus.ACTIVE: "Active",
    PermissionStatus.EXHAUSTED: "Used up",
    PermissionStatus.EXPIRED: "Expired",
    PermissionStatus.REVOKED: "Revoked",
}


@dataclass(frozen=True)
class PermissionView:
    """One permission as the app knows it (public data only): its own record — terms, expiry, the app's
    meter (``used_seconds``, ``metered_zat``) and status — with the provider's deduction beside it and
    what the provider's last answer disagrees with (``disagreements``)."""

    provider_url: str
    provider_name: str
    permission_id: str
    account: str
    user_address: str | None
    pay_address: str
    payment_uri: str
    amount_zat: int
    rate_per_hour_zat: int
    used_seconds: int
    deducted_zat: int
    metered_zat: int
    stored_status: PermissionStatus
    verification: str | None
    confirmations: int
    allow_fallback: bool
    expires_at: int
    created_at: int
    has_token: bool
    tick_seconds: int = trust.DEFAULT_TICK_SECONDS
    now: int = field(default=0, compare=False)
    disagreements: tuple[trust.Disagreement, ...] = ()

    @property
    def status(self) -> PermissionStatus:
        """The stored status, with expiry applied at ``now`` (the provider agrees at the next refresh)."""
        if not self.stored_status.is_terminal and self.now >= self.expires_at:
            return PermissionStatus.EXPIRED
        return self.stored_status

    @property
    def terms(self) -> PermissionTerms:
        return PermissionTerms(self.amount_zat, self.rate_per_hour_zat)

    @property
    def max_seconds(self) -> int:
        return self.terms.max_seconds

    @property
    def remaining_seconds(self) -> int:
        return self.terms.remaining_seconds(self.used_seconds)

    @property
    def max_hours(self) -> str:
        return hours_text(self.max_seconds)

    @property
    def used_hours(self) -> str:
        return hours_text(self.used_seconds)

    @property
    def remaining_hours(self) -> str:
        return hours_text(self.remaining_seconds)

    @property
    def status_text(self) -> str:
        return STATUS_TEXT[self.status]

    @property
    def verification_text(self) -> str:
        text = VERIFICATION_TEXT.get(self.verification, self.verification or "")
        if self.verification == "seen" and self.confirmations:
            plural = "s" if self.confirmations != 1 else ""
            return f"{text} ({self.confirmations} confirmation{plural} so far)"
        return text

    @property
    def is_shielded(self) -> bool:
        return parse_address(self.pay_address).is_shielded

    @property
    def trust_warning(self) -> str | None:
        """Every figure of the provider's that disagrees with the app's record, one sentence each."""
        return "\n".join(d.text for d in self.disagreements) or None


@dataclass
class RefreshReport:
    updated: list[PermissionView] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _default_client(url: str) -> Any:
    from paygo_desktop.protocol.client import ProviderClient

    return ProviderClient(url)


class PermissionBook:
    def __init__(
        self,
        store: Store,
        key_for_account: KeyForAccount,
        *,
        clock: Clock = time.time,
        client_factory: ClientFactory = _default_client,
    ) -> None:
        self.store = store
        self.key_for_account = key_for_account
        self.clock = clock
        self.client_factory = client_factory
        self.notices = NoticeLog(store)
        self.store_work = StoreWorker()  # the async methods' SQL: off the event loop (GUI thread), in order

    def now(self) -> int:
        return int(self.clock())

    # ------------------------------------------------------------------------------------ reading

    def _view(self, row: ZcashPermissionRow, tick: int, now: int) -> PermissionView:
        return PermissionView(
            provider_url=row.provider_url,
            provider_name=row.provider_name,
            permission_id=row.permission_id,
            account=row.account,
            user_address=row.user_address,
            pay_address=row.pay_address,
            payment_uri=row.payment_uri,
            amount_zat=row.amount_zat,
            rate_per_hour_zat=row.rate_per_hour_zat,
            used_seconds=row.used_seconds,
            deducted_zat=row.deducted_zat,
            metered_zat=row.metered_zat,
            stored_status=PermissionStatus(row.status),
            verification=row.verification,
            confirmations=row.confirmations,
            allow_fallback=row.allow_fallback,
            expires_at=cross_check.unix(row.expires_at),
            created_at=cross_check.unix(row.created_at),
            has_token=row.token_sealed is not None,
            tick_seconds=tick,
            now=now,
            disagreements=tuple(cross_check.disagreements(row, tick)),
        )

    def all(self) -> list[PermissionView]:
        """Every permission, newest first."""
        now = self.now()
        with self.store.session() as db:
            rows = db.scalars(
                select(ZcashPermissionRow).order_by(
                    ZcashPermissionRow.created_at.desc(), ZcashPermissionRow.id.desc()
                )
            ).all()
            return [self._view(r, cross_check.tick_seconds(db, r.permission_id), now) for r in rows]

    def get(self, provider_url: str, permission_id: str) -> PermissionView:
        now = self.now()
        with self.store.session() as db:
            row = self._row(db, provider_url, permission_id)
            return self._view(row, cross_check.tick_seconds(db, permission_id), now)

    def _row(self, db: Any, provider_url: str, permission_id: str) -> ZcashPermissionRow:
        row = db.scalar(
            select(ZcashPermissionRow).where(
                ZcashPermissionRow.provider_url == provider_url,
                ZcashPermissionRow.permission_id == permission_id,
            )
        )
        if row is None:
            raise PermissionBookError("This permission is not in the app's records.")
        return row

    # ------------------------------------------------------------------------------------ buying

    async def create(
        self, provider_url: str, account: str, user_address: str, terms: TermsInput
    ) -> PermissionView:
        """Ask ``provider_url`` for a permission and keep it (token sealed). Nothing is kept when the
        provider's answer fails a check; ``WalletLocked`` before anything is asked when the wallet is
        locked (the token could not be kept)."""
        try:
            user = parse_address(user_address.strip())
        except InvalidAddress as exc:
            raise PermissionBookError(f"Your Zcash address is not valid: {exc.message}.") from None
        # before the provider hands out a token we could not keep (the wallet reads the store: off the loop)
        key = await self.store_work(self.key_for_account, account)
        async with self.client_factory(provider_url) as client:
            info = await client.provider_info()
            if not info.zcash:
                raise PermissionBookError(f"{info.name} does not offer Zcash spending permissions.")
            offer = await client.create_zcash_permission(
                user.encoded, terms.amount_zat, terms.rate_zat_per_hour, terms.duration_days
            )
        now = self.now()
        check_offer(offer, user, terms, now)
        assert offer.token is not None
        sealed = seal_token(offer.token, key, provider_url, offer.id)
        await self.store_work(self._keep, provider_url, info.name, offer, account, user, terms, sealed, now)
        log.info("zcash permission %s bought from %s", offer.id, provider_url)
        return await self.store_work(self.get, provider_url, offer.id)

    def _keep(
        self,
        provider_url: str,
        provider_name: str,
        offer: Any,
        account: str,
        user: Any,
        terms: TermsInput,
        sealed: str,
        now: int,
    ) -> None:
        """A permission just bought, as checked: the app's own record of it, token sealed."""
        with self.store.session() as db:
            row = ZcashPermissionRow(
                provider_url=provider_url,
                provider_name=provider_name,
                permission_id=offer.id,
                account=account,
                user_address=user.encoded,
                pay_address=offer.payment_address,
                payment_uri=offer.payment_uri,
                amount_zat=terms.amount_zat,  # the app's own record: what was agreed
                rate_per_hour_zat=terms.rate_zat_per_hour,
                used_seconds=0,
                deducted_zat=0,
                metered_zat=0,
                status=PermissionStatus.PENDING_PAYMENT.value,
                verification=offer.verification.value,
                confirmations=offer.confirmations,
                token_sealed=sealed,
                allow_fallback=False,
                expires_at=cross_check.utc(offer.expires_at),
                created_at=cross_check.utc(offer.created_at),
                updated_at=cross_check.utc(now),
            )
            db.add(row)
            cross_check.record_report(db, row, offer, now)

    # ------------------------------------------------------------------------------------ provider's view

    def _apply(self, provider_url: str, remote: Any, *, revoked: bool = False) -> PermissionView:
        """Keep what the provider says about a permission beside the app's record (never over it, never
        its token: it sends none after create); each figure that disagrees goes to the activity log.
        ``revoked``: the app itself revoked it and the provider took the revoke."""
        now = self.now()
        with self.store.session() as db:
            row = self._row(db, provider_url, remote.id)
            if revoked:
                row.status = PermissionStatus.REVOKED.value
            found = cross_check.record_report(db, row, remote, now)
        view = self.get(provider_url, remote.id)
        cross_check.record_disagreements(self.store, provider_url, remote.id, view.account, found)
        return view

    async def refresh(self, provider_url: str, permission_id: str) -> PermissionView:
        async with self.client_factory(provider_url) as client:
            remote = check_payment_request(await client.get_zcash_permission(permission_id))
        return await self.store_work(self._apply, provider_url, remote)

    async def refresh_all(self) -> RefreshReport:
        """Ask each provider about every permission that is not over yet; one failing provider does not
        stop the others (its problem is reported)."""
        report = RefreshReport()
        pending: dict[str, list[PermissionView]] = {}
        for view in await self.store_work(self.all):
            if not view.stored_status.is_terminal:
                pending.setdefault(view.provider_url, []).append(view)
        for url, views in pending.items():
            try:
                async with self.client_factory(url) as client:
                    for view in views:
                        remote = check_payment_request(await client.get_zcash_permission(view.permission_id))
                        report.updated.append(await self.store_work(self._apply, url, remote))
            except UserFacingError as exc:
                report.problems.append(f"{views[0].provider_name}: {exc}")
        return report

    async def verify(self, provider_url: str, permission_id: str) -> PermissionView:
        """ "I have paid": ask the provider to look for the payment (awaiting → seen → confirmed)."""
        async with self.client_factory(provider_url) as client:
            remote = check_payment_request(await client.verify_zcash_permission(permission_id))
        view = await self.store_work(self._apply, provider_url, remote)
        log.info("zcash permission %s: %s, %s", permission_id, view.status.value, view.verification)
        return view

    async def revoke(self, provider_url: str, permission_id: str) -> PermissionView:
        token = await self.store_work(self._token, provider_url, permission_id)
        async with self.client_factory(provider_url) as client:
            remote = check_payment_request(await client.revoke_zcash_permission(permission_id, token))
        return await self.store_work(self._apply, provider_url, remote, revoked=True)

    # ------------------------------------------------------------------------------------ local choices

    def set_allow_fallback(self, provider_url: str, permission_id: str, allowed: bool) -> None:
        with self.store.session() as db:
            row = self._row(db, provider_url, permission_id)
            row.allow_fallback = allowed
            row.updated_at = cross_check.utc(self.now())

    def record_metered(
        self, permission_id: str, metered_zat: int, used_seconds: int, provider_url: str | None = None
    ) -> None:
        """A meter's figures for this permission: the cumulative zatoshi and seconds it measured.

        Never lowered: a figure below the stored one (an older tick arriving late) changes nothing."""
        with self.store.session() as db:
            row = self._find(db, permission_id, provider_url)
            cross_check.record_meter(row, used_seconds, metered_zat, self.now())

    # ------------------------------------------------------------------------------------ the token

    def _find(self, db: Any, permission_id: str, provider_url: str | None) -> ZcashPermissionRow:
        if provider_url is not None:
            return self._row(db, provider_url, permission_id)
        rows = db.scalars(
            select(ZcashPermissionRow).where(ZcashPermissionRow.permission_id == permission_id)
        ).all()
        if not rows:
            raise PermissionBookError("This permission is not in the app's records.")
        if len(rows) > 1:
            raise PermissionBookError("Two providers use this permission id; the app cannot tell them apart.")
        return rows[0]

    def _token(self, provider_url: str | None, permission_id: str) -> str:
        with self.store.session() as db:
            row = self._find(db, permission_id, provider_url)
            url, sealed, account = row.provider_url, row.token_sealed, row.account
        if sealed is None:
            raise PermissionBookError("The app holds no token for this permission, so it cannot use it.")
        return open_token(sealed, self.key_for_account(account), url, permission_id)

    def token_lookup(self, permission_id: str) -> str:
        """The bearer token of ``permission_id`` for the session engine.

        Raises ``WalletLocked`` while the wallet is locked, ``PermissionBookError`` for an unknown permission
        or one without a token, ``TokenSealError`` if the sealed token does not open. Never logged."""
        return self._token(None, permission_id)

    # ------------------------------------------------------------------------------------ reminders

    def due_reminders(self) -> list[reminders.Reminder]:
        """Reminders to show now: each claimed in the ``notices`` table, so never shown twice."""
        now = self.now()
        shown: list[reminders.Reminder] = []
        for view in self.all():
            for reminder in reminders.due(view, now):
                if self.notices.claim(reminder.key) and not reminder.superseded:
                    shown.append(reminder)
        return shown

    def trust_warnings(self) -> list[str]:
        return [w for w in (v.trust_warning for v in self.all()) if w]
