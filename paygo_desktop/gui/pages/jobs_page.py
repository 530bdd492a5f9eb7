"""The Jobs page: fixed-price jobs paid on approval (``jobs.service``).

Request a job from a provider's offer with a brief (its price is then locked in PayGoJobs through the
shared transaction dialog), follow each job's state as the chain has it, download its delivery (kept only
if it matches the hash on chain), approve it, or take the refund after the deadline. A reminder shows
before a deadline or the end of a review window. A job paid out (approved, released, refunded or
cancelled) has "Proof…": its proof file (``jobs.proof_file``), sealed with the account's key. Everything
slow runs in the background; results reach the widgets through the task runner's signals.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QStandardPaths, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from paygo_desktop.changes import TRANSACTION_WENT_THROUGH, Changes
from paygo_desktop.gui.async_tasks import TaskRunner
from paygo_desktop.gui.format import local_time
from paygo_desktop.gui.pages.base import Page
from paygo_desktop.gui.widgets.messages import InlineMessage

if TYPE_CHECKING:
    from paygo_desktop.context import AppContext
    from paygo_desktop.gui.widgets.transaction_flow import TransactionDialog
    from paygo_desktop.jobs.view import JobView
    from paygo_desktop.wallet import Wallet

COLUMNS = ("Job", "Provider", "Price", "State", "Due", "")
STATE_TEXT = {
    "requested": "Requested: not funded yet",
    "declined": "Declined by the provider",
    "funded": "Funded: waiting for the provider",
    "accepted": "Accepted: in progress",
    "delivered": "Delivered: review it",
    "approved": "Approved: paid",
    "released": "Paid after the review window",
    "refunded": "Refunded",
    "cancelled": "Cancelled: refunded",
    "expired": "Deadline passed",
}
ACTION_TEXT = {
    "fund": "Fund",
    "download": "Download",
    "approve": "Approve and pay",
    "refund": "Take the refund",
    "cancel": "Take the refund",
    "release": "Release",
}


def _duration(seconds: int) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if (seconds >= size and seconds % size == 0) or unit == "minute":
            count = max(seconds // size, 1)
            return f"{count} {unit}{'' if count == 1 else 's'}"
    raise AssertionError("unreachable")


class JobsPage(Page):
    key = "jobs"
    title = "Jobs"
    shows = Changes(transactions=True, network=True, accounts=True)
    stale_after = 30.0  # the jobs' states are the chain's

    def __init__(
        self,
        ctx: AppContext,
        runner: TaskRunner,
        wallet: Callable[[], Wallet],
        *,
        poll_ms: int | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.runner = runner
        self._wallet = wallet
        self.poll_ms = poll_ms
        self.service: Any = None
        self._service_key: tuple[Any, ...] | None = None
        self.views: list[JobView] = []
        self.loaded = False
        self.flow_dialog: TransactionDialog | None = None
        downloads = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DownloadLocation)
        self.download_dir = Path(downloads or Path.home()) / "PayGo jobs"
        self.listed_offers: dict[str, Any] = {}  # the offers as last listed, by id (their terms as shown)

        self.account_label = QLabel("")
        self.account_label.setObjectName("Hint")
        self.layout_.addWidget(self.account_label)
        self.notice = InlineMessage(name="Jobs message")
        self.layout_.addWidget(self.notice)
        self.reminder = QLabel("")
        self.reminder.setAccessibleName("Reminder")
        self.reminder.setWordWrap(True)
        self.reminder.setVisible(False)
        self.layout_.addWidget(self.reminder)
        self._build_request()
        self._build_table()
        self.layout_.addStretch(1)

    # -- building --------------------------------------------------------------------------------------------
    def _build_request(self) -> None:
        title = QLabel("<b>Request a job</b>")
        title.setAccessibleName("Request a job")
        self.layout_.addWidget(title)
        hint = QLabel(
            "A fixed price, locked until the provider delivers and you approve. With nothing delivered by "
            "the deadline you take it back; once a delivery is made you have its review window to approve "
            "it or ask for a cancellation, after which the provider can take the price."
        )
        hint.setObjectName("Hint")
        hint.setWordWrap(True)
        self.layout_.addWidget(hint)
        row = QHBoxLayout()
        self.provider = QComboBox()
        self.provider.setEditable(True)
        self.provider.setAccessibleName("Provider address")
        self.provider.addItems(self.ctx.provider_urls())
        row.addWidget(self.provider, 2)
        self.offers_button = QPushButton("Show its offers")
        self.offers_button.clicked.connect(self.load_offers)
        row.addWidget(self.offers_button)
        self.offer = QComboBox()
        self.offer.setAccessibleName("Job offer")
        row.addWidget(self.offer, 3)
        self.layout_.addLayout(row)
        self.brief = QPlainTextEdit()
        self.brief.setAccessibleName("Brief")
        self.brief.setPlaceholderText(
            "What you need done (the provider sees this; its hash is in the job's terms)"
        )
        self.brief.setFixedHeight(80)
        self.layout_.addWidget(self.brief)
        self.request_button = QPushButton("Request and lock the price…")
        self.request_button.clicked.connect(self.request_job)
        self.layout_.addWidget(self.request_button, alignment=Qt.AlignmentFlag.AlignLeft)

    def _build_table(self) -> None:
        head = QHBoxLayout()
        label = QLabel("<b>Your jobs</b>")
        label.setAccessibleName("Your jobs")
        head.addWidget(label)
        head.addStretch(1)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.reread)
        head.addWidget(self.refresh_button)
        self.layout_.addLayout(head)
        self.empty = QLabel("No jobs yet.")
        self.empty.setObjectName("Hint")
        self.layout_.addWidget(self.empty)
        table = QTableWidget(0, len(COLUMNS))
        table.setAccessibleName("Jobs")
        table.setHorizontalHeaderLabels(list(COLUMNS))
        table.verticalHeader().setVisible(False)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        table.horizontalHeader().setStretchLastSection(True)
        table.setVisible(False)
        self.table = table
        self.layout_.addWidget(table, 1)

    # -- the core --------------------------------------------------------------------------------------------
    def wallet(self) -> Wallet:
        return self._wallet()

    def account(self) -> str | None:
        records = self.ctx.accounts.list()
        if not records:
            return None
        active = (self.ctx.settings.active_account or "").lower()
        return next((str(r.address) for r in records if r.address.lower() == active), str(records[0].address))

    def current_setup(self) -> Any:
        """What the JobsService for the current network and account is made of (``jobs.service``), or None
        without an account. SQL and files: called off the GUI thread (``refresh`` does)."""
        from paygo_desktop.jobs.service import JobsSetup

        account = self.account()
        return None if account is None else JobsSetup.read(self.ctx, account)

    async def release(self) -> None:
        if self.service is not None:
            await self.service.aclose()  # its node connection, closed before the app quits

    def _use_service(self, setup: Any) -> Any:
        """On the GUI thread: the service for ``setup``, made again when it changed (the old one closed)."""
        from paygo_desktop.jobs.service import JobsService

        if setup is None:
            return None
        if setup != self._service_key or self.service is None:
            old = self.service
            self.service, self._service_key = JobsService.build(self.ctx.store, setup), setup
            if old is not None:
                self.runner.run(old.aclose(), name="jobs-close-rpc")
        return self.service

    async def _key(self, service: Any) -> Any:
        """The account's key, looked up in a worker thread (the wallet reads its account from the store);
        ``WalletLocked`` (its message shown by the runner) while the wallet is locked."""
        import asyncio

        return await asyncio.to_thread(self.wallet().local_account, service.account)

    # -- reading ---------------------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Open the service for the current network and account (off the GUI thread), then read the jobs."""
        self.refresh_button.setEnabled(False)

        def failed(message: str) -> None:
            self.refresh_button.setEnabled(True)
            self.notice.error(message)

        self.runner.run(self.current_setup, on_success=self._load, on_error=failed, name="jobs-setup")

    def _load(self, setup: Any) -> None:
        service = self._use_service(setup)
        if service is None:
            self.refresh_button.setEnabled(True)
            self.account_label.setText("No account yet.")
            return
        self.account_label.setText(f"Account {service.account} on {service.network.name}")
        self.refresh_button.setEnabled(False)
        wallet = self.wallet()

        def key_if_unlocked() -> Any:  # SQL (the wallet's account record): in a worker thread
            return None if wallet.is_locked else wallet.local_account(service.account)

        async def read() -> list[JobView]:
            import asyncio

            return list(await service.views(await asyncio.to_thread(key_if_unlocked)))

        def done(views: list[JobView]) -> None:
            self.refresh_button.setEnabled(True)
            self.loaded = True
            self._show(views)

        def failed(message: str) -> None:
            self.refresh_button.setEnabled(True)
            self.loaded = True
            self.notice.error(message)

        self.runner.run(read(), on_success=done, on_error=failed, name="jobs-views")

    def _show(self, views: list[JobView]) -> None:
        self.views = views
        self.table.setRowCount(len(views))
        self.table.setVisible(bool(views))
        self.empty.setVisible(not views)
        for row, view in enumerate(views):
            record = view.record
            due = view.review_ends_at if view.state.value == "delivered" else record.job.deadline
            cells = (
                record.offer_name,
                record.provider_name,
                view.price.format(),
                STATE_TEXT[view.state.value],
                local_time(datetime.fromtimestamp(due, UTC)) if due else "—",
            )
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if view.reminder is not None:
                    item.setToolTip(view.reminder.message)
                self.table.setItem(row, column, item)
            self.table.setCellWidget(row, len(COLUMNS) - 1, self._actions(view))
        self.table.resizeRowsToContents()
        reminders = [
            (v.reminder, v.record.offer_name) for v in views if v.reminder and v.reminder.kind != "fund"
        ]
        reminders.sort(key=lambda pair: pair[0].at)  # the soonest first
        self.reminder.setVisible(bool(reminders))
        if reminders:  # named: several jobs may have one
            name, message = html.escape(reminders[0][1]), html.escape(reminders[0][0].message)
            self.reminder.setText(f"<b>Reminder, {name}:</b> {message}")

    def _actions(self, view: JobView) -> QWidget:
        box = QWidget()
        layout = QHBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        for action in dict.fromkeys(view.actions):  # refund and cancel read the same: one of each
            button = QPushButton(ACTION_TEXT[action])
            button.setAccessibleName(f"{ACTION_TEXT[action]}: {view.record.offer_name}")
            button.setObjectName(f"job-{action}")
            button.clicked.connect(partial(self._act, view.job_id, action))
            layout.addWidget(button)
        if view.on_chain.status.paid_worker or view.on_chain.status.paid_client:
            proof = QPushButton("Proof…")
            proof.setAccessibleName(f"Export the proof of: {view.record.offer_name}")
            proof.setObjectName("job-proof")
            proof.setToolTip("One file anyone can check: the job's terms, its delivery and its payout")
            proof.clicked.connect(partial(self.export_proof, view.job_id))
            layout.addWidget(proof)
        layout.addStretch(1)
        return box

    def export_proof(self, job_id: str, _checked: bool = False, *, path: str | None = None) -> None:
        """The job's proof file, sealed with the account's key, written where the user says (off the GUI)."""
        import asyncio

        from paygo_desktop.fileio import atomic_write_bytes
        from paygo_desktop.jobs.proof_file import job_proof

        self.notice.clear_message()
        if path is None:
            path, _ = QFileDialog.getSaveFileName(
                self, "Export the job's proof", f"paygo-job-{job_id[2:10]}.json", "Proof files (*.json)"
            )
        if not path:
            return
        service, target, network = self.service, Path(path), self.ctx.network.name

        async def work() -> Path:
            key = await self._key(service)
            data = await job_proof(service.w3, self.ctx.store, job_id, network, key)
            await asyncio.to_thread(atomic_write_bytes, target, data, 0o644)
            return target

        self.runner.run(
            work(),
            on_success=lambda written: self.notice.ok(f"Wrote the job's proof to {written}."),
            on_error=self.notice.error,
            name="jobs-proof",
        )

    # -- requesting ------------------------------------------------------------------------------------------
    def load_offers(self) -> None:
        service = self.service  # opened by refresh, when the page was shown
        url = self.provider.currentText().strip()
        if service is None or not url:
            self.notice.error("Enter the provider's address first.")
            return
        self.notice.clear_message()

        def got(offers: list[Any]) -> None:
            self.offer.clear()
            self.listed_offers = {offer.id: offer for offer, _ in offers}
            for offer, asset in offers:  # the asset as this app knows it by address, if it does
                from paygo_desktop.jobs.service import MIN_REVIEW_WINDOW
                from paygo_desktop.money import Amount
                from paygo_desktop.protocol.jobs import review_window_text

                price = (
                    Amount(asset, offer.price).format()
                    if asset
                    else f"{offer.price} base units of {offer.asset}, a token this app does not know"
                )
                review = offer.review_window_seconds
                self.offer.addItem(
                    f"{offer.name} — {price}, within {_duration(offer.delivery_seconds)}, "
                    + (
                        f"{review_window_text(review)} to review it"
                        if review >= MIN_REVIEW_WINDOW
                        else f"review window {review_window_text(review)}: too short to be funded"
                    ),
                    offer.id,
                )
            if not offers:
                self.notice.error("This provider offers no fixed-price jobs.")

        self.runner.run(
            service.priced_offers(url), on_success=got, on_error=self.notice.error, name="jobs-offers"
        )

    def request_job(self) -> None:
        service = self.service  # opened by refresh, when the page was shown
        offer_id = self.offer.currentData()
        brief = self.brief.toPlainText().strip()
        if service is None or offer_id is None:
            self.notice.error("Choose a provider and one of its offers first.")
            return
        if not brief:
            self.notice.error("Write the brief: what you need done.")
            return
        url = self.provider.currentText().strip()
        seen = self.listed_offers.get(offer_id)  # its terms as shown: a changed offer is refused
        self.notice.clear_message()

        async def request_and_plan() -> list[Any]:
            key = await self._key(service)
            record = await service.request(url, offer_id, brief, key, seen=seen)
            return list(await service.plan_fund(record.job_id))

        def planned(plan: list[Any]) -> None:
            self.brief.clear()
            self.reread()
            self.start_flow(plan, "Lock the job's price")

        self.runner.run(
            request_and_plan(), on_success=planned, on_error=self.notice.error, name="jobs-request"
        )

    # -- acting on a job -------------------------------------------------------------------------------------
    def _act(self, job_id: str, action: str, _checked: bool = False) -> None:
        service = self.service
        self.notice.clear_message()
        if action == "download":
            download_dir = self.download_dir

            async def download() -> Path:
                return await service.download(job_id, await self._key(service), download_dir)

            def saved(path: Path) -> None:
                self.notice.ok(f"Saved to {path}: its SHA-256 matches the delivery recorded on chain.")
                self.reread()

            self.runner.run(download(), on_success=saved, on_error=self.notice.error, name="jobs-download")
            return
        planners = {
            "fund": (service.plan_fund, "Lock the job's price"),
            "approve": (service.plan_approve, "Approve the job and pay"),
            "refund": (service.plan_refund, "Take the refund"),
            "cancel": (service.plan_cancel, "Take the refund"),
            "release": (service.plan_release, "Release the job's price"),
        }
        plan, title = planners[action]

        def planned(requests: list[Any]) -> None:
            self.start_flow(requests, title)

        self.runner.run(
            plan(job_id), on_success=planned, on_error=self.notice.error, name=f"jobs-plan-{action}"
        )

    def start_flow(self, plan: list[Any], title: str) -> TransactionDialog:
        from paygo_desktop.gui.widgets.transaction_flow import TransactionDialog

        dialog = TransactionDialog.for_service(
            self.runner, self.wallet(), self.service, plan, title=title, parent=self, poll_ms=self.poll_ms
        )
        dialog.flow_finished.connect(self._flow_finished)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.flow_dialog = dialog
        dialog.open()
        return dialog

    def _flow_finished(self, state: Any) -> None:
        self.reread()
        if state.phase == "done":
            self.announce(TRANSACTION_WENT_THROUGH)
