"""The bridge between the session engine (Qt-free, asyncio) and the views.

One engine per (network, account): a session keeps running on the engine that started it even if the user
switches network or account meanwhile. Engine events arrive on the event loop, which under qasync is the GUI
thread: what each changed is announced through the window's ``ChangeAnnouncer`` (the pages refresh from
it), the messages for the Sessions page go out as a signal, and notifications (low funds, a session stopped
by a problem, a Zcash permission that ran out and the escrow channel taking over, a provider that went back
on a receipt) go to the tray through the ``Notifier``. Nothing here touches the store on the GUI thread: the
engine's history goes through its store worker, and what the controller reads itself runs in a worker
thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QDialog, QWidget

from paygo_desktop.changes import TRANSACTION_WENT_THROUGH, Changes
from paygo_desktop.gui.async_tasks import TaskRunner

if TYPE_CHECKING:
    from paygo_desktop.chain.transactions import TxRequest
    from paygo_desktop.chain.tx_flow import FlowState
    from paygo_desktop.context import AppContext
    from paygo_desktop.gui.changes import ChangeAnnouncer
    from paygo_desktop.gui.notifier import Notifier
    from paygo_desktop.gui.widgets.transaction_flow import TransactionDialog
    from paygo_desktop.networks import Network
    from paygo_desktop.sessions.access_proxy import AccessProxy, LocalAccess
    from paygo_desktop.sessions.engine import SessionEngine
    from paygo_desktop.sessions.history import SessionHistory
    from paygo_desktop.sessions.live import LiveSession
    from paygo_desktop.sessions.plan import SessionPlan
    from paygo_desktop.sessions.reports import RecoveryReport, SessionSummary
    from paygo_desktop.sessions.start_flow import StartFlow
    from paygo_desktop.sessions.status import SessionEvent
    from paygo_desktop.wallet import Wallet

log = logging.getLogger(__name__)


@dataclass
class _Start:
    """One start under way: the core's flow, where its dialogs go, and the engine it runs on."""

    flow: StartFlow
    parent: QWidget | None
    engine: SessionEngine = field(init=False)


class SessionController(QObject):
    message = Signal(str, bool)  # text, is_error: for the Sessions page's message line
    started = Signal(str)  # local id
    channel_closed = Signal(str, bool)  # local id, whether the close went through

    def __init__(
        self,
        ctx: AppContext,
        runner: TaskRunner,
        wallet: Callable[[], Wallet],
        notifier: Notifier | None = None,
        engine_factory: Callable[..., SessionEngine] | None = None,
        parent: QObject | None = None,
        *,
        changes: ChangeAnnouncer | None = None,
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.runner = runner
        self._wallet = wallet
        self.notifier = notifier
        self.changes = changes
        self._engine_factory = engine_factory
        self._engines: dict[tuple[str, str], SessionEngine] = {}
        self._unsubscribe: list[Callable[[], None]] = []
        self._history: SessionHistory | None = None
        # each running session's service on a local URL (sessions.access_proxy), for the meter's Open
        # service; made when a session first has one (its module is imported by gui.warm_up)
        self._local_access: LocalAccess | None = None
        self.last_summary: SessionSummary | None = None
        self.dialog: QDialog | None = None  # the open start dialog (tests drive it)
        self.flow_dialog: TransactionDialog | None = None  # the open transaction dialog (tests drive it)

    def _announce(self, changes: Changes) -> None:
        if self.changes is not None:
            self.changes.announce(changes)

    # -- the engine -----------------------------------------------------------------------------------
    @property
    def history(self) -> SessionHistory:
        """The sessions' history (read it in a worker thread: ``runner.run(callable)``)."""
        if self._history is None:
            from paygo_desktop.sessions.history import SessionHistory

            self._history = SessionHistory(self.ctx.store)
        return self._history

    async def engine(self) -> SessionEngine:
        """The engine for the current network and account, built on first use. Its module (web3 and the
        chain layer) is imported, and the vault's address read, in a worker thread: the window never
        waits for them."""
        import asyncio

        network = self.ctx.network
        account = self.ctx.settings.active_account
        if not account:
            from paygo_desktop.sessions.plan import SessionError

            raise SessionError("Create or choose an account first.")
        key = (network.key, account.lower())
        engine = self._engines.get(key)
        if engine is None:
            factory = self._engine_factory
            if factory is None:
                from paygo_desktop.gui.warm_up import import_module

                module = await asyncio.to_thread(import_module, "paygo_desktop.sessions.engine")
                factory = module.SessionEngine
            vault_address = await asyncio.to_thread(self.ctx.vault_address, network)
            engine = self._engines.get(key)  # built meanwhile by another call
            if engine is not None:
                return engine
            engine = factory(
                store=self.ctx.store,
                wallet=self._wallet(),
                account=account,
                network=network,
                vault_address=vault_address,
                token_lookup=self.ctx.zcash_book.token_lookup,
            )
            self._unsubscribe.append(engine.subscribe(self._on_event))
            self._engines[key] = engine
        return engine

    def network_terms_changed(self, network: Network) -> None:
        """``network``'s terms changed (its fee ceiling): the engines built on it hold to the new ones."""
        for (key, _account), engine in self._engines.items():
            if key == network.key:
                engine.use_network(network)

    def live(self) -> list[LiveSession]:
        sessions: list[LiveSession] = []
        for engine in self._engines.values():
            sessions.extend(engine.live())
        return sessions

    def has_live(self) -> bool:
        return any(s.is_active for s in self.live())

    # -- starting: the core's start flow, drawn ---------------------------------------------------------
    def begin(self, provider_url: str, service_id: str, parent: QWidget | None = None) -> None:
        """Start a session with a provider's service. The core's ``StartFlow`` says which step comes next;
        this draws each step (the start dialog, the deposit's transaction dialog) and runs the work it
        names, then hands the outcome back to the flow."""
        from paygo_desktop.sessions.start_flow import StartFlow

        self._draw(_Start(StartFlow(provider_url, service_id), parent))

    def _draw(self, start: _Start) -> None:
        from paygo_desktop.sessions.start_flow import Step

        flow = start.flow
        self.message.emit(flow.message, flow.is_error)
        if flow.step is Step.PLANNING:
            self._work(start, self._plan(start), flow.planned, "session-plan")
        elif flow.step is Step.CHOOSING:
            self._ask(start)
        elif flow.step is Step.DEPOSIT_REVIEW and not flow.deposit_steps:
            steps = start.engine.chain.deposit_requests(flow.plan, flow.options.deposit)
            self._work(start, steps, flow.deposit_prepared, "session-deposit-plan")
        elif flow.step is Step.DEPOSIT_REVIEW:
            self._review_deposit(start)
        elif flow.step is Step.STARTING:
            self._work(start, start.engine.start(flow.plan, flow.options), flow.started, "session-start")
        elif flow.step is Step.RUNNING and flow.live is not None:
            self.started.emit(flow.live.local_id)

    def _work(self, start: _Start, work: Any, outcome: Callable[[Any], object], name: str) -> None:
        """Run a step's work; its result goes to the flow (``outcome``), a failure too, then the next step
        is drawn."""

        def then(result: Any) -> None:
            outcome(result)
            self._draw(start)

        def failed(text: str) -> None:
            start.flow.failed(text)
            self._draw(start)

        self.runner.run(work, on_success=then, on_error=failed, name=name)

    async def _plan(self, start: _Start) -> SessionPlan:
        start.engine = await self.engine()
        return await start.engine.plan(start.flow.provider_url, start.flow.service_id)

    def _ask(self, start: _Start) -> None:
        from paygo_desktop.gui.sessions.start_dialog import StartSessionDialog

        assert start.flow.choice is not None
        dialog = StartSessionDialog(start.flow.choice, start.parent)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self._then(start, start.flow.chosen))
        dialog.rejected.connect(lambda: start.flow.cancelled())
        self.dialog = dialog  # the open dialog (tests drive it)
        dialog.open()  # window-modal without a nested event loop, which qasync cannot run inside

    def _then(self, start: _Start, outcome: Callable[[], object]) -> None:
        outcome()
        self._draw(start)

    def _review_deposit(self, start: _Start) -> None:
        """The deposit's fee estimate, the password if the wallet is locked, then its progress; the
        session starts once the deposit is confirmed, and not at all if it is not sent."""
        from paygo_desktop.sessions.start_flow import Step

        flow = start.flow
        title = f"Deposit for {flow.plan.service.name}"
        dialog = self._transaction_dialog(start.engine, flow.deposit_steps, title, start.parent)

        def finished(state: FlowState) -> None:
            if state.phase == "done":
                dialog.accept()
                self._announce(TRANSACTION_WENT_THROUGH)
            self._then(start, lambda: flow.deposited(state.phase, state.message))

        def closed(_code: int) -> None:
            if flow.step is Step.DEPOSIT_REVIEW and not dialog.state.is_final:
                self._then(start, lambda: flow.review_closed(dialog.state.phase))

        dialog.flow_finished.connect(finished)
        dialog.finished.connect(closed)
        dialog.open()

    def _transaction_dialog(
        self, engine: SessionEngine, steps: list[TxRequest], title: str, parent: QWidget | None
    ) -> TransactionDialog:
        from paygo_desktop.gui.widgets.transaction_flow import TransactionDialog

        if parent is None:
            owner = self.parent()
            parent = owner if isinstance(owner, QWidget) else None
        dialog = TransactionDialog.for_requests(
            self.runner,
            self._wallet(),
            engine.chain.transaction_manager(),
            engine.account,
            steps,
            title=title,
            explorer=engine.network.explorer_tx_url,
            parent=parent,
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.flow_dialog = dialog  # the open transaction dialog (tests drive it)
        return dialog

    # -- stopping -------------------------------------------------------------------------------------
    def _engine_of(self, local_id: str) -> SessionEngine | None:
        for engine in self._engines.values():
            if any(s.local_id == local_id for s in engine.live()):
                return engine
        return None

    def stop(self, local_id: str) -> None:
        engine = self._engine_of(local_id)
        if engine is None:
            return
        self._close_access(local_id)  # the service ends with the click, before the final voucher
        self.runner.run(
            engine.stop(local_id),
            on_success=self._stopped,
            on_error=lambda text: self.message.emit(text, True),
            name="session-stop",
        )

    def _stopped(self, summary: SessionSummary) -> None:
        self.last_summary = summary
        self.message.emit(summary.message, not summary.receipt_ok)

    def close_channel(self, local_id: str) -> None:
        """After a stop: close the session's channel with the provider's signed Close (pays the provider
        what it holds, refunds the rest of the deposit now), through the shared transaction dialog."""
        self.message.emit("Closing the channel: asking the provider for its signed Close…", False)

        async def prepare() -> tuple[SessionEngine, TxRequest]:
            engine = await self.engine()
            return engine, await engine.close_request(local_id)

        def failed(text: str) -> None:
            self.message.emit(text, True)
            self.channel_closed.emit(local_id, False)

        self.runner.run(
            prepare(),
            on_success=lambda result: self._review_close(local_id, *result),
            on_error=failed,
            name="close-channel",
        )

    def _review_close(self, local_id: str, engine: SessionEngine, request: TxRequest) -> None:
        dialog = self._transaction_dialog(engine, [request], "Close the channel", None)
        outcome: list[bool] = []

        def finished(state: FlowState) -> None:
            done = state.phase == "done"
            outcome.append(done)
            if done:
                record = state.record
                tx = f" (transaction {record.tx_hash[:10]}…)" if record is not None else ""
                text = f"The channel is closed; the unused deposit is back in your wallet{tx}."
                self.message.emit(text, False)
            else:
                self.message.emit(f"The channel was not closed. {state.message}".strip(), True)
            self.channel_closed.emit(local_id, done)
            self._announce(TRANSACTION_WENT_THROUGH if done else Changes(transactions=True))

        def closed(_code: int) -> None:
            if outcome:
                return
            if dialog.state.phase in ("pending", "mined"):
                self.message.emit("The close is on its way; the Escrow page follows it.", False)
            else:
                self.message.emit("The channel was not closed: nothing was sent.", False)
            self.channel_closed.emit(local_id, False)

        dialog.flow_finished.connect(finished)
        dialog.finished.connect(closed)
        dialog.open()

    def has_engines(self) -> bool:
        """Whether a session engine was built (it holds connections to the node and the providers)."""
        return bool(self._engines)

    async def shutdown(self) -> None:
        """Stop every running session cleanly (final voucher, receipt) before the app quits or locks."""
        if self._local_access is not None:
            await self._local_access.close_all()
        for engine in list(self._engines.values()):
            try:
                await engine.shutdown()
            except Exception:
                log.exception("stopping the sessions of an engine failed")
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
        self._engines.clear()
        self._announce(Changes(sessions=True))

    # -- after a crash --------------------------------------------------------------------------------
    def recover(self) -> None:
        """Reconcile sessions a crash left running; called once the wallet is unlocked. The history is
        looked at in a worker thread; without anything a crash left behind, the engine is not even loaded."""
        account = self.ctx.settings.active_account
        if not account:
            return
        history = self.history

        async def recover() -> list[RecoveryReport]:
            import asyncio

            if not await asyncio.to_thread(history.unfinished, account):
                return []
            return await (await self.engine()).recover()

        self.runner.run(recover(), on_success=self._recovered, on_error=self._recovery_failed)

    def _recovered(self, reports: list[RecoveryReport]) -> None:
        if not reports:
            return
        lines = [report.message for report in reports]
        activity, network = self.ctx.activity, self.ctx.network.key

        def record() -> None:
            for line in lines:
                activity.record("session", line, network=network)

        recovered = Changes(sessions=True, spending=True, channels=True, activity=True)
        self.runner.run(record, on_success=lambda _none: self._announce(recovered), name="record-recovery")
        self.message.emit("\n".join(lines), False)
        if self.notifier is not None:
            self.notifier.notify("Sessions checked after a restart", lines[0])

    def _recovery_failed(self, text: str) -> None:
        self.message.emit(f"Sessions left running could not be checked yet: {text}", True)

    # -- the service on a local URL ---------------------------------------------------------------------
    @property
    def local_access(self) -> LocalAccess:
        if self._local_access is None:
            from paygo_desktop.sessions.access_proxy import LocalAccess

            self._local_access = LocalAccess()
        return self._local_access

    def access_of(self, local_id: str) -> AccessProxy | None:
        """The running session's local proxy, once it listens; None before, after, or without one."""
        return None if self._local_access is None else self._local_access.get(local_id)

    def _open_access(self, local_id: str) -> None:
        live = next((s for s in self.live() if s.local_id == local_id), None)
        if live is None or live.access is None or not live.access.service_url:
            return

        def failed(text: str) -> None:
            self.message.emit(f"The service cannot be opened on this computer: {text}", True)

        self.runner.run(
            self.local_access.open(live),
            on_success=lambda _proxy: self._announce(Changes(sessions=True)),
            on_error=failed,
            name="session-local-access",
        )

    def _close_access(self, local_id: str) -> None:
        if self._local_access is not None and self._local_access.holds(local_id):
            self.runner.run(self._local_access.close(local_id), name="session-local-access-close")

    # -- engine events --------------------------------------------------------------------------------
    def _on_event(self, event: SessionEvent) -> None:
        from paygo_desktop.sessions.status import EventKind

        self._announce(event.changes)
        if event.kind is EventKind.STARTED:
            self._open_access(event.local_id)
        elif event.kind in (EventKind.STOPPED, EventKind.FAILED, EventKind.RECEIPT_INVALID):
            self._close_access(event.local_id)
        if event.kind is EventKind.FALLBACK:
            self.message.emit(event.message, False)
            if self.notifier is not None:
                self.notifier.notify("Continued on the escrow channel", event.message)
        if event.kind is EventKind.LOW_FUNDS and self.notifier is not None:
            self.notifier.notify("Session budget running low", event.message)
        if event.kind in (EventKind.FAILED, EventKind.RECEIPT_INVALID):
            self.message.emit(event.message, True)
            if self.notifier is not None:
                self.notifier.notify("A session was stopped", event.message)
        if event.kind is EventKind.RECEIPT_BROKEN:
            self.message.emit(event.message, True)
            if self.notifier is not None:
                self.notifier.notify("A provider went back on its receipt", event.message)
