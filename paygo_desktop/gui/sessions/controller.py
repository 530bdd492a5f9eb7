"""The bridge between the session engine (Qt-free, asyncio) and the views.

One engine per (network, account): a session keeps running on the engine that started it even if the user
switches network or account meanwhile. Engine events arrive on the event loop, which under qasync is the GUI
thread, and are re-emitted as Qt signals. Notifications (low funds, a session stopped by a problem, a Zcash
permission that ran out and the escrow channel taking over) go to the tray through the ``Notifier``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QWidget

from paygo_desktop.gui.async_tasks import TaskRunner

log = logging.getLogger(__name__)


class SessionController(QObject):
    sessions_changed = Signal()  # a session started, changed status or ended
    message = Signal(str, bool)  # text, is_error: for the Sessions page's message line
    started = Signal(str)  # local id
    channel_closed = Signal(str, bool)  # local id, whether the close went through

    def __init__(
        self,
        ctx: Any,
        runner: TaskRunner,
        wallet: Callable[[], Any],
        notifier: Any = None,
        engine_factory: Callable[..., Any] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.runner = runner
        self._wallet = wallet
        self.notifier = notifier
        self._engine_factory = engine_factory
        self._engines: dict[tuple[str, str], Any] = {}
        self._unsubscribe: list[Callable[[], None]] = []
        self._history: Any = None
        self.last_summary: Any = None

    # -- the engine -----------------------------------------------------------------------------------
    @property
    def history(self) -> Any:
        if self._history is None:
            from paygo_desktop.sessions.history import SessionHistory

            self._history = SessionHistory(self.ctx.store)
        return self._history

    async def engine(self) -> Any:
        """The engine for the current network and account, built on first use. Its module (web3 and the
        chain layer) is imported in a worker thread, so the window never waits for it."""
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
                import asyncio
                import importlib

                module = await asyncio.to_thread(importlib.import_module, "paygo_desktop.sessions.engine")
                factory = module.SessionEngine
            engine = self._engines.get(key)  # built meanwhile by another call
            if engine is not None:
                return engine
            engine = factory(
                store=self.ctx.store,
                wallet=self._wallet(),
                account=account,
                network=network,
                vault_address=self.ctx.vault_address(network),
                token_lookup=self.ctx.zcash_book.token_lookup,
            )
            self._unsubscribe.append(engine.subscribe(self._on_event))
            self._engines[key] = engine
        return engine

    def live(self) -> list[Any]:
        sessions: list[Any] = []
        for engine in self._engines.values():
            sessions.extend(engine.live())
        return sessions

    def has_live(self) -> bool:
        return any(s.is_active for s in self.live())

    # -- starting -------------------------------------------------------------------------------------
    def begin(self, provider_url: str, service_id: str, parent: QWidget | None = None) -> None:
        """Ask the provider for the session's terms, show the start dialog, and start if the user agrees."""
        self.message.emit("Asking the provider for its terms…", False)

        async def plan() -> tuple[Any, Any]:
            engine = await self.engine()
            return engine, await engine.plan(provider_url, service_id)

        self.runner.run(
            plan(),
            on_success=lambda result: self._ask(result[0], result[1], parent),
            on_error=lambda text: self.message.emit(text, True),
            name="session-plan",
        )

    def _ask(self, engine: Any, plan: Any, parent: QWidget | None) -> None:
        from paygo_desktop.gui.sessions.start_dialog import StartSessionDialog

        self.message.emit("", False)
        dialog = StartSessionDialog(plan, parent)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self.start(engine, plan, dialog.options(), parent))
        self.dialog = dialog  # the open dialog (tests drive it)
        dialog.open()  # window-modal without a nested event loop, which qasync cannot run inside

    def start(self, engine: Any, plan: Any, options: Any, parent: QWidget | None = None) -> None:
        """Start the session; a deposit or top-up first goes through the shared transaction dialog."""
        if options.deposit:
            self._deposit_then_start(engine, plan, options, parent)
            return
        self.message.emit("Starting the session…", False)
        self.runner.run(
            engine.start(plan, options),
            on_success=self._started,
            on_error=lambda text: self.message.emit(text, True),
            name="session-start",
        )

    # -- a deposit before the start, through the transaction dialog -----------------------------------
    def _deposit_then_start(self, engine: Any, plan: Any, options: Any, parent: QWidget | None) -> None:
        self.message.emit("Preparing the deposit…", False)
        self.runner.run(
            engine.chain.deposit_requests(plan, options.deposit),
            on_success=lambda steps: self._review_deposit(engine, plan, options, steps, parent),
            on_error=lambda text: self.message.emit(f"Not started: {text}", True),
            name="session-deposit-plan",
        )

    def _review_deposit(
        self, engine: Any, plan: Any, options: Any, steps: list[Any], parent: QWidget | None
    ) -> None:
        """The deposit's fee estimate, the password if the wallet is locked, then its progress; the
        session starts once the deposit is confirmed, and not at all if it is not sent."""
        from dataclasses import replace

        dialog = self._transaction_dialog(engine, steps, f"Deposit for {plan.service.name}", parent)
        started = False

        def finished(state: Any) -> None:
            nonlocal started
            if state.phase != "done":
                why = f"Not started: the deposit did not go through. {state.message}"
                self.message.emit(why.strip(), True)
                return
            started = True
            dialog.accept()
            self.start(engine, plan, replace(options, deposit=0), parent)

        def closed(_code: int) -> None:
            if started or dialog.state.is_final:
                return
            if dialog.state.phase in ("pending", "mined"):
                self.message.emit(
                    "The deposit is on its way; the Escrow page follows it. Start the session again once it "
                    "is confirmed.",
                    False,
                )
            else:
                self.message.emit("Not started: no deposit was sent.", False)

        dialog.flow_finished.connect(finished)
        dialog.finished.connect(closed)
        self.message.emit("Review the deposit: nothing is sent before you press Send.", False)
        dialog.open()

    def _transaction_dialog(self, engine: Any, steps: list[Any], title: str, parent: QWidget | None) -> Any:
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

    def _started(self, live: Any) -> None:
        self.message.emit(f"{live.terms.service_name} is running. Stop it at any time.", False)
        self.sessions_changed.emit()
        self.started.emit(live.local_id)

    # -- stopping -------------------------------------------------------------------------------------
    def _engine_of(self, local_id: str) -> Any:
        for engine in self._engines.values():
            if any(s.local_id == local_id for s in engine.live()):
                return engine
        return None

    def stop(self, local_id: str) -> None:
        engine = self._engine_of(local_id)
        if engine is None:
            return
        self.runner.run(
            engine.stop(local_id),
            on_success=self._stopped,
            on_error=lambda text: self.message.emit(text, True),
            name="session-stop",
        )

    def _stopped(self, summary: Any) -> None:
        self.last_summary = summary
        self.message.emit(summary.message, not summary.receipt_ok)
        self.sessions_changed.emit()

    def close_channel(self, local_id: str) -> None:
        """After a stop: close the session's channel with the provider's signed Close (pays the provider
        what it holds, refunds the rest of the deposit now), through the shared transaction dialog."""
        self.message.emit("Closing the channel: asking the provider for its signed Close…", False)

        async def prepare() -> tuple[Any, Any]:
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

    def _review_close(self, local_id: str, engine: Any, request: Any) -> None:
        dialog = self._transaction_dialog(engine, [request], "Close the channel", None)
        outcome: list[bool] = []

        def finished(state: Any) -> None:
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

    async def shutdown(self) -> None:
        """Stop every running session cleanly (final voucher, receipt) before the app quits or locks."""
        for engine in list(self._engines.values()):
            try:
                await engine.shutdown()
            except Exception:
                log.exception("stopping the sessions of an engine failed")
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
        self._engines.clear()
        self.sessions_changed.emit()

    # -- after a crash --------------------------------------------------------------------------------
    def recover(self) -> None:
        """Reconcile sessions a crash left running; called once the wallet is unlocked."""
        if not self.ctx.settings.active_account or not self.history.unfinished(
            self.ctx.settings.active_account
        ):
            return  # nothing a crash left behind: no need to load the engine at all

        async def recover() -> Any:
            return await (await self.engine()).recover()

        self.runner.run(recover(), on_success=self._recovered, on_error=self._recovery_failed)

    def _recovered(self, reports: Any) -> None:
        if not reports:
            return
        lines = [report.message for report in reports]
        for line in lines:
            self.ctx.activity.record("session", line, network=self.ctx.network.key)
        self.message.emit("\n".join(lines), False)
        if self.notifier is not None:
            self.notifier.notify("Sessions checked after a restart", lines[0])
        self.sessions_changed.emit()

    def _recovery_failed(self, text: str) -> None:
        self.message.emit(f"Sessions left running could not be checked yet: {text}", True)

    # -- engine events --------------------------------------------------------------------------------
    def _on_event(self, event: Any) -> None:
        if event.kind in ("started", "stopped", "failed", "fallback", "receipt_invalid"):
            self.sessions_changed.emit()
        if event.kind == "fallback":
            self.message.emit(event.message, False)
            if self.notifier is not None:
                self.notifier.notify("Continued on the escrow channel", event.message)
        if event.kind == "low_funds" and self.notifier is not None:
            self.notifier.notify("Session budget running low", event.message)
        if event.kind in ("failed", "receipt_invalid"):
            self.message.emit(event.message, True)
            if self.notifier is not None:
                self.notifier.notify("A session was stopped", event.message)
