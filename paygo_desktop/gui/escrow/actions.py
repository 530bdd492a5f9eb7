"""The Escrow page's actions: send, receive, add a token, a new deposit, top up, withdraw, finalize, close a
channel, fill a nonce gap, and a pending transaction opened again. Each asks the core for a plan and hands it
to the transaction dialog; the page (gui/pages/escrow_page.py) draws what it read and owns these buttons.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt

from paygo_desktop.changes import TRANSACTION_WENT_THROUGH
from paygo_desktop.gui.escrow_dialogs import AmountDialog, NewDepositDialog, ReceiveDialog, SendDialog

if TYPE_CHECKING:
    from paygo_desktop.chain.transactions import TxRequest
    from paygo_desktop.context import AppContext
    from paygo_desktop.gui.async_tasks import TaskRunner
    from paygo_desktop.gui.pages.base import Page
    from paygo_desktop.gui.widgets.messages import InlineMessage

    # the dialog pulls in web3 and eth_account: imported when a transaction starts
    from paygo_desktop.gui.widgets.transaction_flow import TransactionDialog
    from paygo_desktop.wallet import Wallet

    _PageBase = Page
else:
    _PageBase = object


class EscrowActions(_PageBase):
    """The actions of ``EscrowPage``, which mixes them in (what they use of the page is declared here)."""

    if TYPE_CHECKING:
        ctx: AppContext
        runner: TaskRunner
        service: Any
        overview: Any
        dialog: Any
        flow_dialog: TransactionDialog | None
        poll_ms: int | None
        notice: InlineMessage

        def wallet(self) -> Wallet: ...

        def reload(self) -> None: ...

        def _show_error(self, message: str, title: str = ...) -> None: ...

    def _open(self, dialog: Any) -> Any:
        self.dialog = dialog
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def _planning(self, dialog: Any, title: str) -> Any:
        dialog.planned.connect(lambda plan: self.start_flow(plan, title))
        return self._open(dialog)

    def start_flow(self, plan: list[Any], title: str) -> TransactionDialog:
        from paygo_desktop.gui.widgets.transaction_flow import TransactionDialog

        dialog = TransactionDialog.for_service(
            self.runner, self.wallet(), self.service, plan, title=title, parent=self, poll_ms=self.poll_ms
        )
        return self._show_flow(dialog)

    def _flow_finished(self, state: Any) -> None:
        self.reload()
        if state.phase == "done":
            self.announce(TRANSACTION_WENT_THROUGH)

    def _show_flow(self, dialog: TransactionDialog) -> TransactionDialog:
        dialog.flow_finished.connect(self._flow_finished)
        dialog.finished.connect(lambda _code: self.reload())
        self.flow_dialog = dialog
        self._open(dialog)
        return dialog

    def open_send(self) -> None:
        if self.overview is None:
            return
        service = self.service
        self._planning(SendDialog(self.runner, self.overview.balances, service.plan_send, self), "Send")

    def open_receive(self) -> None:
        service = self.service
        if service is not None:
            self._open(ReceiveDialog(service.account, self.ctx.network.name, self))

    def open_add_token(self) -> None:
        from paygo_desktop.gui.token_dialog import AddTokenDialog
        from paygo_desktop.tokens.adding import TokenProposal, confirm_token, propose_token

        service = self.service
        if service is None:
            return

        async def propose(address: str) -> TokenProposal:
            return await propose_token(
                service.w3, service.network, address, service.tokens, holder=service.account
            )

        dialog = AddTokenDialog(self.runner, propose, lambda p: confirm_token(self.ctx.store, p), self)
        dialog.accepted.connect(self.reload)
        self._open(dialog)

    def open_new_deposit(self) -> None:
        if self.overview is None:
            return
        service = self.service

        minimums: dict[str, int] = {}  # a listed provider's minimum withdrawal delay, by its payTo

        async def plan(address: str, name: str, amount: Any) -> list[Any]:
            channel = await service.new_channel(address, amount.asset, minimums.get(address.lower()))
            return list(await service.plan_deposit(channel, amount, name))

        dialog = NewDepositDialog(self.runner, service.assets, plan, self)
        self._planning(dialog, "Deposit into escrow")
        self._offer_providers(dialog, minimums)

    def _offer_providers(self, dialog: NewDepositDialog, minimums: dict[str, int]) -> None:
        from paygo_desktop.protocol.client import ProviderClient

        for url in self.ctx.provider_urls():

            async def info(url: str = url) -> Any:
                async with ProviderClient(url, timeout=5) as client:
                    return await client.provider_info()

            def got(provider: Any, dialog: NewDepositDialog = dialog) -> None:
                if dialog is self.dialog:
                    minimums[provider.pay_to.lower()] = provider.min_withdraw_delay or 0
                    dialog.add_provider(provider.name, provider.pay_to)

            self.runner.run(info(), on_success=got, on_error=lambda _m: None, name="escrow-provider-info")

    def open_top_up(self, channel: Any) -> None:
        service = self.service
        if not channel.can_top_up:  # a look-alike another key signs for, or closed: no button, no dialog
            self.notice.error(channel.warning or "Nothing can be added to this channel.")
            return

        def plan(amount: Any) -> Any:
            return service.plan_top_up(channel, amount)

        dialog = AmountDialog(
            "Top up escrow",
            self.runner,
            channel.asset,
            f"Add {channel.asset.symbol} to the channel with {channel.provider}. It now has "
            f"{channel.available.format()} available.",
            plan,
            parent=self,
        )
        self._planning(dialog, "Top up escrow")

    def open_withdraw(self, channel: Any) -> None:
        service = self.service
        from paygo_desktop.escrow.service import describe_wait

        delay = describe_wait(channel.params.withdraw_delay) if channel.params else "its delay"
        dialog = AmountDialog(
            "Request a withdrawal",
            self.runner,
            channel.asset,
            f"The money comes back after the channel's delay ({delay}), so the provider can first claim "
            "what your sessions used. Then press Finalize. A new request replaces a pending one.",
            lambda amount: service.plan_withdrawal_request(channel, amount),
            maximum=channel.available,
            parent=self,
        )
        self._planning(dialog, "Request a withdrawal")

    def _plan_then_flow(self, work: Any, title: str) -> None:
        def failed(message: str) -> None:
            self.notice.error(message)

        self.notice.clear_message()

        def planned(plan: list[TxRequest]) -> None:
            self.start_flow(plan, title)

        self.runner.run(work, on_success=planned, on_error=failed, name="escrow-plan")

    def finalize(self, channel: Any) -> None:
        self._plan_then_flow(self.service.plan_finalize(channel), "Finalize the withdrawal")

    def close_channel(self, channel: Any) -> None:
        """Ask the channel's provider for its signed Close, check it, sign this app's voucher for the same
        amount (``escrow.close``), then review and send ``closeCooperative`` in the transaction dialog."""
        service, wallet, store = self.service, self.wallet(), self.ctx.store
        known_providers = self.ctx.provider_urls()

        async def plan() -> list[Any]:
            import asyncio

            from paygo_desktop.sessions.history import SessionHistory

            def from_store() -> tuple[int, list[str]]:
                history = SessionHistory(store)
                cid = channel.channel_id.lower()
                return history.channel_committed(cid), history.channel_provider_urls(cid)

            committed, used = await asyncio.to_thread(from_store)
            signer = wallet.local_account(service.account)  # WalletLocked says to unlock first
            urls = [*used, *known_providers]
            return list(await service.plan_close(channel, signer, committed=committed, provider_urls=urls))

        self._plan_then_flow(plan(), "Close the escrow channel")

    def fill_gap(self) -> None:
        from paygo_desktop.chain.transactions import TxRequest
        from paygo_desktop.chain.tx_flow import TxFlow

        if self.overview is None or not self.overview.nonce_gaps:
            return
        service, nonce = self.service, self.overview.nonce_gaps[0]
        request = TxRequest(
            to=service.account,
            kind="fill-gap",
            description=f"Fill the missing nonce {nonce} with an empty transfer to yourself",
        )
        flow = TxFlow(
            service.transactions, service.account, [request], explorer=service.explorer_url, nonce=nonce
        )
        kw = {"poll_ms": self.poll_ms} if self.poll_ms else {}
        from paygo_desktop.gui.widgets.transaction_flow import TransactionDialog

        self._show_flow(
            TransactionDialog(flow, self.runner, self.wallet(), title="Fill a nonce gap", parent=self, **kw)
        )

    def _open_pending_clicked(self, tx_hash: str, _checked: bool = False) -> None:
        # Slots take the clicked(bool) argument explicitly: PySide6 lambdas that drop it crashed at exit.
        if self.service is None:
            return
        repository = self.service.transactions.repository  # read off the GUI thread: it is SQL
        self.runner.run(
            lambda: repository.get(tx_hash),
            on_success=lambda record: self.open_pending(record) if record is not None else None,
            on_error=lambda message: self._show_error(message, title="Could not open the transaction"),
            name="escrow-open-pending",
        )

    def open_pending(self, record: Any) -> None:
        from paygo_desktop.chain.tx_flow import TxFlow

        service = self.service
        flow = TxFlow.resume(service.transactions, record, explorer=service.explorer_url)
        kw = {"poll_ms": self.poll_ms} if self.poll_ms else {}
        from paygo_desktop.gui.widgets.transaction_flow import TransactionDialog

        dialog = TransactionDialog(
            flow, self.runner, self.wallet(), title="Pending transaction", parent=self, **kw
        )
        self._show_flow(dialog)
