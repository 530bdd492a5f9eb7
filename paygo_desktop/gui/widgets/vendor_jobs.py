"""The Vendor page's Jobs tab: the fixed-price jobs requested from the vendor's provider, with their state
as the chain says, price, deadline and review window, and the vendor's answers (accept, decline, deliver a
file or a link, take the price of a delivery left unapproved past its review window) through the
provider's API, signed with the provider's key (``vendor.jobs``).

Reading and answering run in a worker thread with its own event loop (the key's signing and the file's
reading included, as the page's other loads); results come back through the task runner's signals."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QStackedWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from paygo_desktop.gui.format import local_time, plain_tooltip, short_address
from paygo_desktop.gui.widgets.empty_state import EmptyState
from paygo_desktop.gui.widgets.messages import InlineMessage
from paygo_desktop.gui.widgets.tables import readonly_table

if TYPE_CHECKING:
    from paygo_desktop.context import AppContext
    from paygo_desktop.gui.async_tasks import TaskRunner
    from paygo_desktop.vendor.jobs import VendorJob

COLUMNS = ["Job and brief", "Client", "Price", "State", "Deadline", "Review window", ""]
BRIEF_CHARS = 60  # the brief's first line under the job's name; the whole brief is its tooltip
ACTION_TEXT = {
    "accept": "Accept",
    "decline": "Decline",
    "deliver-file": "Deliver a file…",
    "deliver-link": "Deliver a link…",
    "release": "Take the price",
}


def _short(brief: str) -> str:
    line = brief.strip().splitlines()[0] if brief.strip() else ""
    return line if len(line) <= BRIEF_CHARS else line[: BRIEF_CHARS - 1] + "…"


class LinkDialog(QDialog):
    """A delivery served elsewhere: its address and the SHA-256 of what it serves."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Deliver a link")
        form = QFormLayout(self)
        self.url = QLineEdit()
        self.url.setPlaceholderText("https://…")
        self.sha256 = QLineEdit()
        self.sha256.setPlaceholderText("0x… (64 hexadecimal digits)")
        form.addRow("Address", self.url)
        form.addRow("SHA-256 of the file", self.sha256)
        choice = QDialogButtonBox.StandardButton
        buttons = QDialogButtonBox(choice.Ok | choice.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)


class VendorJobsPanel(QWidget):
    """The jobs of the provider the Vendor page is connected to."""

    count_changed = Signal(int)  # jobs waiting for the vendor's answer or delivery

    def __init__(self, ctx: AppContext, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.runner = runner
        self.url: str | None = None
        self.account: str | None = None
        self.jobs: list[VendorJob] = []
        self.loaded = False
        self.acting = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        head = QHBoxLayout()
        hint = QLabel(
            "Jobs clients requested from your provider. Accept a funded job, deliver before its deadline; "
            "the client approves (you are paid) or, after the review window, anyone can release the price."
        )
        hint.setWordWrap(True)
        hint.setObjectName("Hint")
        head.addWidget(hint, 1)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setAccessibleName("Read the jobs again")
        self.refresh_button.clicked.connect(lambda: self.reload())
        head.addWidget(self.refresh_button)
        layout.addLayout(head)
        self.message = InlineMessage(self, "Jobs message")
        layout.addWidget(self.message)
        self.stack = QStackedWidget()
        self.empty = EmptyState(
            "No jobs yet",
            "Nobody has requested a job from this provider. Clients see your job offers (catalog entries "
            'of type "job") on their Jobs page.',
            "Each requested job appears here with its state on chain, price, deadline and review window, "
            "and the buttons to accept, decline or deliver it.",
        )
        self.table = readonly_table(COLUMNS, "Jobs requested from the provider")
        self.table.setWordWrap(False)  # the job's name over its brief's first line, cut with "…"
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self.table)
        layout.addWidget(self.stack, 1)

    # ---- reading
    def set_provider(self, url: str, account: str) -> None:
        changed = (url, account) != (self.url, self.account)
        self.url, self.account = url, account
        self.reload(quiet=not changed)

    def _with_client(self, work: Any) -> Any:
        """Run ``work(client, key)`` to its end in this worker thread, with the provider's key."""
        from paygo_desktop.gui.vendor_calls import with_provider

        assert self.url is not None and self.account is not None, "connected first"
        return with_provider(self.ctx, self.url, self.account, work)

    def reload(self, *, quiet: bool = False) -> None:
        if self.url is None or self.account is None:
            return
        from paygo_desktop.vendor.jobs import list_jobs

        self.refresh_button.setEnabled(False)

        def done(result: object) -> None:
            self.refresh_button.setEnabled(True)
            self.show_jobs(list(result))  # type: ignore[call-overload]

        def failed(message: str) -> None:
            self.refresh_button.setEnabled(True)
            self.loaded = True
            if not quiet:
                self.message.error(message)

        self.runner.run(self._with_client, list_jobs, on_success=done, on_error=failed, name="vendor-jobs")

    def show_jobs(self, jobs: list[VendorJob]) -> None:
        from paygo_desktop.protocol.jobs import review_window_text

        self.jobs = jobs
        self.loaded = True
        self.stack.setCurrentWidget(self.table if jobs else self.empty)
        self.table.setRowCount(len(jobs))
        for row, job in enumerate(jobs):
            info = job.info
            deadline = info.review_ends_at if job.state == "delivered" else info.job.deadline
            deadline_text = local_time(datetime.fromtimestamp(deadline, UTC)) if deadline else "—"
            if job.state == "delivered":
                deadline_text = f"review until {deadline_text}"
            cells = (
                f"{job.offer_name}\n{_short(info.brief)}",
                short_address(info.job.client),
                job.price_text,
                job.state_text,
                deadline_text,
                review_window_text(info.job.review_window),
            )
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(plain_tooltip(info.brief if column == 0 else text))
                if column == 2:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, column, item)
            self.table.setCellWidget(row, len(COLUMNS) - 1, self._buttons(job))
        self.table.resizeRowsToContents()
        self.count_changed.emit(sum(1 for j in jobs if j.actions and j.state != "requested"))

    def _buttons(self, job: VendorJob) -> QWidget:
        box = QWidget()
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        actions = [a for a in job.actions if a != "deliver"]
        if "deliver" in job.actions:
            actions[:0] = ["deliver-file", "deliver-link"]
        for action in actions:
            button = QPushButton(ACTION_TEXT[action])
            button.setObjectName(f"vendor-job-{action}")
            button.setAccessibleName(f"{ACTION_TEXT[action]} {job.offer_name}")
            button.setEnabled(not self.acting)
            button.clicked.connect(partial(self._pressed, job.job_id, action))
            row.addWidget(button)
        row.addStretch(1)
        return box

    # ---- answering
    def _pressed(self, job_id: str, action: str, _checked: bool = False) -> None:
        if action == "deliver-file":
            name, _ = QFileDialog.getOpenFileName(self, "Choose the file to deliver", str(Path.home()))
            if name:
                self.deliver_file(job_id, Path(name))
        elif action == "deliver-link":
            dialog = LinkDialog(self)
            if dialog.exec() == QDialog.DialogCode.Accepted:
                self.deliver_link(job_id, dialog.url.text(), dialog.sha256.text())
        else:
            self.answer(job_id, action)

    def answer(self, job_id: str, action: str) -> None:
        """Accept or decline the job, or take its price after the review window (release)."""
        from paygo_desktop.vendor import jobs as vj

        answers: dict[str, tuple[Any, str | Callable[[object], str]]] = {
            "accept": (vj.accept, "Accepted the job."),
            "decline": (vj.decline, "Declined the job."),
            "release": (vj.release, vj.release_said),
        }
        work, said = answers[action]
        self._run(lambda client, key: work(client, key, job_id), said)

    def deliver_file(self, job_id: str, path: Path) -> None:
        from paygo_desktop.vendor.jobs import deliver_file

        self._run(
            lambda client, key: deliver_file(client, key, job_id, path),
            f"Delivered {path.name}; its SHA-256 is on chain and the client's review window has started.",
            busy=f"Sending {path.name} and recording its hash on chain…",
        )

    def deliver_link(self, job_id: str, url: str, sha256: str) -> None:
        from paygo_desktop.vendor.jobs import deliver_link

        self._run(
            lambda client, key: deliver_link(client, key, job_id, url, sha256),
            "Delivered the link; its SHA-256 is on chain and the client's review window has started.",
            busy="Recording the delivery's hash on chain…",
        )

    def _run(
        self, work: Any, success: str | Callable[[object], str], busy: str = "Asking the provider…"
    ) -> None:
        """``success``: what to say once done (or how to say it from the answer)."""
        self.acting = True
        self._enable_buttons(False)
        self.message.ok(busy)

        def done(result: object) -> None:
            self.acting = False
            self.message.ok(success if isinstance(success, str) else success(result))
            self.reload()

        def failed(message: str) -> None:
            self.acting = False
            self._enable_buttons(True)
            self.message.error(message)

        self.runner.run(self._with_client, work, on_success=done, on_error=failed, name="vendor-job-answer")

    def _enable_buttons(self, enabled: bool) -> None:
        for button in self.table.findChildren(QPushButton):
            button.setEnabled(enabled)
