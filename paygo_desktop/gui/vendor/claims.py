"""The Vendor page's "Claim now": the provider's claimable vouchers fetched and checked (``vendor.claims``),
then one ``claimBatch`` from the provider's own account through the shared transaction dialog
(``gui/widgets/transaction_flow.py``); a claim still pending is shown again instead of a second one being
sent. The page (gui/pages/vendor_page.py) mixes this in and owns the button."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt

from paygo_desktop.changes import TRANSACTION_WENT_THROUGH
from paygo_desktop.errors import UserFacingError
from paygo_desktop.gui.vendor_calls import VENDOR_READ_TIMEOUT

if TYPE_CHECKING:
    from PySide6.QtWidgets import QPushButton

    from paygo_desktop.context import AppContext
    from paygo_desktop.gui.async_tasks import TaskRunner
    from paygo_desktop.gui.pages.base import Page
    from paygo_desktop.gui.widgets.busy import BusyIndicator
    from paygo_desktop.gui.widgets.messages import InlineMessage

    _PageBase = Page
else:
    _PageBase = object


class VendorClaims(_PageBase):
    """The claims of ``VendorPage``, which mixes them in (what they use of the page is declared here)."""

    if TYPE_CHECKING:
        ctx: AppContext
        runner: TaskRunner
        poll_ms: int | None
        _service: Any
        flow_dialog: Any
        account: str | None
        provider_url: str | None
        claim_status: str
        claim_button: QPushButton
        busy: BusyIndicator
        message: InlineMessage

        def connect_provider(self, *, keep_message: bool = False) -> None: ...

    def claim_service(self, setup: Any | None = None) -> Any:
        """The vendor account's ``EscrowService`` on this network: its vault and the transaction manager
        the shared transaction dialog sends through. Made from ``setup`` (``escrow.service.EscrowSetup``,
        read off the GUI thread) for a claim, closed when the claim's dialog is."""
        from paygo_desktop.escrow.service import EscrowService

        if setup is not None and (
            self._service is None or self._service.account.lower() != setup.account.lower()
        ):
            self.release_service()
            self._service = EscrowService.build(self.ctx.store, setup)
        assert self._service is not None, "made for a claim first"
        return self._service

    def release_service(self) -> None:
        """Close the claim's RPC connection (a dialog still open keeps it)."""
        if self._service is not None and self.flow_dialog is None:
            self.runner.run(self._service.aclose(), name="vendor-close-rpc")
            self._service = None

    def claim(self) -> None:
        """Claim now: the provider's vouchers, checked here, as one ``claimBatch`` the vendor's own account
        sends through the transaction dialog (fee shown first). A claim still pending is shown again."""
        if self.provider_url is None or self.account is None:
            return
        if self.flow_dialog is not None and self.flow_dialog.isVisible():
            self.flow_dialog.raise_()
            self.flow_dialog.activateWindow()
            return
        self.message.clear_message()
        ctx, account = self.ctx, self.account

        def look() -> tuple[Any, list[Any]]:  # SQL and files: off the GUI thread
            from eth_utils import to_checksum_address

            from paygo_desktop.escrow.service import EscrowSetup
            from paygo_desktop.store.transactions import TransactionRepository

            setup = EscrowSetup.read(ctx, account)
            sender = to_checksum_address(account)
            open_ones = TransactionRepository(ctx.store).open(setup.network.chain_id)
            return setup, [r for r in open_ones if r.sender == sender and r.kind == "vendor-claim"]

        def failed(message: str) -> None:
            self.claim_button.setEnabled(True)
            self.message.error(message)

        self.claim_button.setEnabled(False)  # one claim at a time, from this click on
        self.runner.run(look, on_success=self._claim_looked, on_error=failed, name="vendor-claim-look")

    def _claim_looked(self, found: tuple[Any, list[Any]]) -> None:
        """A claim sent earlier and still waiting is shown again; otherwise a new one is planned."""
        setup, pending = found
        self.claim_button.setEnabled(True)
        if self.provider_url is None or self.account is None:
            return
        service = self.claim_service(setup)
        if service.vault is None:
            self.message.error(
                f"No PayGo vault is known on {service.network.name}; there is nothing to claim."
            )
            self.release_service()
            return
        if pending:
            self.message.ok("A claim sent earlier is still waiting for the network; here it is.")
            self.open_pending(pending[0])
            return
        from paygo_desktop.protocol.client import ProviderClient
        from paygo_desktop.vendor.claims import plan_claim

        try:
            key = self.ctx.wallet.local_account(self.account)
        except UserFacingError as exc:
            self.message.error(str(exc))
            self.release_service()
            return
        url, chain_id = self.provider_url, service.network.chain_id

        async def plan() -> Any:
            async with ProviderClient(url) as client:
                work = plan_claim(client, key, service.vault, chain_id)
                try:
                    return await asyncio.wait_for(work, VENDOR_READ_TIMEOUT)
                except TimeoutError:
                    raise UserFacingError(
                        "The provider or the network did not answer in time; try again."
                    ) from None

        self.claim_button.setEnabled(False)
        self.busy.start("Fetching the provider's vouchers and checking them…")

        def failed(message: str) -> None:
            self.busy.stop()
            self.claim_button.setEnabled(True)
            self.message.error(message)
            self.release_service()

        self.runner.run(plan(), on_success=self._claim_planned, on_error=failed, name="vendor-claim-plan")

    def _claim_planned(self, claim: Any) -> None:
        """The checked claim: nothing left to claim (and why), or its transaction to review and send."""
        self.busy.stop()
        self.claim_button.setEnabled(True)
        notes = self._claim_notes(claim)
        if claim.request is None:
            self.release_service()
            self.claim_status = "nothing was left to claim"
            if claim.rejected:
                self.message.error("Nothing was claimed. " + notes)
            else:
                self.message.ok(
                    ("Nothing to claim: every voucher is already claimed on-chain. " + notes).strip()
                )
            return
        if notes:
            self.message.ok(notes)
        self.start_claim(claim.request, claim.summary())

    @staticmethod
    def _claim_notes(claim: Any) -> str:
        notes = []
        if claim.skipped:
            notes.append(
                f"{claim.skipped} voucher(s) were claimed meanwhile (by the provider) and are skipped."
            )
        if claim.rejected:
            notes.append(
                f"Left out {len(claim.rejected)} voucher(s) from the provider that do not check out: "
                + "; ".join(claim.rejected[:3])
                + ("…" if len(claim.rejected) > 3 else ".")
            )
        if claim.refused:
            notes.append(
                f"The vault refuses the vouchers of {len(claim.refused)} channel(s); the provider serves "
                "them no more: " + "; ".join(claim.refused[:3]) + ("…" if len(claim.refused) > 3 else ".")
            )
        if claim.later:
            notes.append(
                f"{claim.later} more voucher(s) are left for another Claim now once this one is done."
            )
        return " ".join(notes)

    def start_claim(self, request: Any, summary: str) -> Any:
        from paygo_desktop.gui.widgets.transaction_flow import TransactionDialog

        service = self.claim_service()
        kw = {"poll_ms": self.poll_ms} if self.poll_ms else {}
        dialog = TransactionDialog.for_requests(
            self.runner,
            self.ctx.wallet,
            service.transactions,
            service.account,
            [request],
            title="Claim your vouchers",
            explorer=service.explorer_url,
            parent=self,
            **kw,
        )
        return self._show_flow(dialog, summary)

    def open_pending(self, record: Any) -> Any:
        from paygo_desktop.chain.tx_flow import TxFlow
        from paygo_desktop.gui.widgets.transaction_flow import TransactionDialog

        service = self.claim_service()
        flow = TxFlow.resume(service.transactions, record, explorer=service.explorer_url)
        kw = {"poll_ms": self.poll_ms} if self.poll_ms else {}
        dialog = TransactionDialog(
            flow, self.runner, self.ctx.wallet, title="Pending claim", parent=self, **kw
        )
        return self._show_flow(dialog, record.description.removeprefix("Claim "))

    def _show_flow(self, dialog: Any, summary: str) -> Any:
        dialog.flow_finished.connect(lambda state: self._claim_finished(state, summary))
        dialog.finished.connect(lambda _code: self._flow_closed(dialog))
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.flow_dialog = dialog
        dialog.open()
        return dialog

    def _flow_closed(self, dialog: Any) -> None:
        if dialog is self.flow_dialog:
            self.flow_dialog = None  # deleted on close
            self.release_service()
        if not dialog.state.is_final:
            self.message.ok("The claim is still on its way; press Claim now to follow it.")

    def _claim_finished(self, state: Any, summary: str) -> None:
        record = state.record
        if state.phase == "done":
            self.announce(TRANSACTION_WENT_THROUGH)
        if state.phase == "done" and record is not None:
            self.claim_status = f"last claim confirmed in block {record.block_number}"
            self.message.ok(
                f"Claimed {summary}. Transaction {record.tx_hash}, confirmed in block {record.block_number}."
            )
        elif state.phase == "cancelled":
            self.claim_status = "the last claim was cancelled"
            self.message.ok(state.message or "The claim was cancelled; nothing was claimed.")
        else:
            self.claim_status = "the last claim failed"
            self.message.error(f"The claim failed: {state.message or 'see the transaction for details'}")
        if record is not None:
            self.connect_provider(keep_message=True)  # read the new payouts
