"""A finished session's receipt and its check (Sessions page → Receipt…), and its proof file.

The dialog shows what the provider signed (the amount, the seconds, the session, the key that signed) and
each check of it, run off the GUI thread from what the app kept (``receipts.verify.stored_session_checks``);
"Check on chain" adds what the chain says (the vault, the voucher, the claim); "Export proof…" writes the
self-contained proof file, sealed with the payer's key (the wallet must be unlocked), that anyone can check
with ``paygo-desktop receipt verify FILE``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from paygo_desktop.errors import UserFacingError
from paygo_desktop.gui.async_tasks import TaskRunner
from paygo_desktop.gui.widgets.messages import InlineMessage
from paygo_desktop.money import Amount

if TYPE_CHECKING:
    from paygo_desktop.context import AppContext
    from paygo_desktop.receipts.build import SessionEvidence
    from paygo_desktop.receipts.proof import Check
    from paygo_desktop.sessions.session_record import SessionRecord

MARKS = {True: "✓", False: "✗", None: "·"}


def _utc(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def check_lines(checks: list[Check]) -> str:
    """One line a check; the detail of one that was not checked is said with it (the others' details are
    in ``check_details``, the tooltip)."""
    return "\n".join(
        f"{MARKS[c.ok]} {c.name}" + (f": not checked, {c.detail}" if c.ok is None and c.detail else "")
        for c in checks
    )


def check_details(checks: list[Check]) -> str:
    return "\n".join(f"{c.name}: {c.detail}" for c in checks if c.detail)


class ReceiptDialog(QDialog):
    def __init__(
        self,
        runner: TaskRunner,
        ctx: AppContext,
        record: SessionRecord,
        key: Callable[[], Any],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.runner = runner
        self.ctx = ctx
        self.record = record
        self._key = key
        self.evidence: SessionEvidence | None = None
        self.checks: list[Check] = []
        self.setWindowTitle("Receipt")
        self.setAccessibleName("Receipt")
        self.setMinimumWidth(620)
        layout = QVBoxLayout(self)
        title = QLabel(f"{record.terms.service_name} — {record.terms.provider_name}")
        title.setObjectName("CardTitle")
        title.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(title)
        self.form = QFormLayout()
        layout.addLayout(self.form)
        self.verdict = QLabel("Checking the receipt…")
        self.verdict.setObjectName("CardTitle")
        self.verdict.setAccessibleName("The receipt's check")
        layout.addWidget(self.verdict)
        self.check_list = QLabel()
        self.check_list.setTextFormat(Qt.TextFormat.PlainText)
        self.check_list.setWordWrap(True)
        self.check_list.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.check_list.setAccessibleName("Each check")
        layout.addWidget(self.check_list)
        self.message = InlineMessage(self, "Receipt message")
        layout.addWidget(self.message)
        buttons = QHBoxLayout()
        self.chain_button = QPushButton("Check on chain")
        self.chain_button.setToolTip(
            "Ask the network: the vault's code, the final voucher, the provider's claim"
        )
        self.export_button = QPushButton("Export proof…")
        self.export_button.setObjectName("Primary")
        self.export_button.setToolTip(
            "One file with the signed quote, the receipt, your final voucher, the channel and the claim, "
            "sealed by your key: anyone can check it with paygo-desktop receipt verify FILE"
        )
        close = QPushButton("Close")
        for button in (self.chain_button, self.export_button):
            button.setEnabled(False)
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(close)
        layout.addLayout(buttons)
        close.clicked.connect(self.accept)
        self.chain_button.clicked.connect(self.check_on_chain)
        self.export_button.clicked.connect(lambda: self.export())
        self._load()

    def _row(self, label: str, text: str) -> None:
        value = QLabel(text)
        value.setTextFormat(Qt.TextFormat.PlainText)
        value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        value.setAccessibleName(label)
        self.form.addRow(label, value)

    def _load(self) -> None:
        from paygo_desktop.receipts.verify import stored_session_checks

        network = self.ctx.network.name
        self.runner.run(
            lambda: stored_session_checks(self.ctx.store, self.record.local_id, network),
            on_success=self._show,
            on_error=self._no_receipt,
            name="receipt-check",
        )

    def _show(self, result: tuple[SessionEvidence, list[Check]]) -> None:
        evidence, checks = result
        self.evidence, self.checks = evidence, checks
        receipt, asset = evidence.receipt, self.record.terms.asset
        self._row("Amount", Amount(asset, int(receipt["amount"])).format())
        self._row("Seconds", str(receipt["seconds"]))
        self._row("From – to", f"{_utc(receipt['startedAt'])} – {_utc(receipt['endedAt'])}")
        self._row("Provider's session", str(receipt["sessionId"]))
        self._row("Channel", str(receipt["channelId"]))
        self._row("Signed by", evidence.signing_key)
        self._show_checks(checks)
        self.chain_button.setEnabled(True)
        self.export_button.setEnabled(True)

    def _show_checks(self, checks: list[Check], *, on_chain: bool = False) -> None:
        failed = [c for c in checks if c.ok is False]
        if failed:
            self.verdict.setText("✗ The receipt does not check out")
        elif on_chain:
            self.verdict.setText("✓ The receipt checks out, and the chain agrees")
        else:
            self.verdict.setText("✓ The receipt checks out: signed by the provider")
        self.check_list.setText(check_lines(checks))
        self.check_list.setToolTip(check_details(checks))
        self.adjustSize()

    def _no_receipt(self, message: str) -> None:
        self.verdict.setText("No receipt to check")
        self.message.error(message)

    def check_on_chain(self) -> None:
        from paygo_desktop.chain.canonical import REGISTRY
        from paygo_desktop.receipts.build import find_claim, proof_body

        evidence, rpc_url, network = self.evidence, self.ctx.network.rpc_url, self.ctx.network.name
        if evidence is None:
            return
        self.chain_button.setEnabled(False)

        async def work() -> list[Check]:
            from paygo_desktop.chain.rpc import async_web3
            from paygo_desktop.receipts.chain_check import chain_checks

            w3 = async_web3(rpc_url, timeout=20)
            try:
                claim = await find_claim(
                    w3,
                    self.ctx.store,
                    evidence.chain_id,
                    evidence.quote["vault"],
                    evidence.channel_id,
                    evidence.final_cumulative,
                )
                body = proof_body(evidence, network, claim)
                return await chain_checks(w3, body, registry=REGISTRY.address)
            finally:
                await w3.provider.disconnect()

        def done(extra: list[Check]) -> None:
            self.chain_button.setEnabled(True)
            self._show_checks([*self.checks, *extra], on_chain=True)

        def failed(message: str) -> None:
            self.chain_button.setEnabled(True)
            self.message.error(f"The chain could not be asked: {message}")

        self.runner.run(work(), on_success=done, on_error=failed, name="receipt-chain-check")

    def export(self, path: str | None = None) -> None:
        from paygo_desktop.fileio import atomic_write_bytes
        from paygo_desktop.receipts.build import session_proof

        if path is None:
            path, _ = QFileDialog.getSaveFileName(
                self, "Export proof", f"paygo-proof-{self.record.local_id[:8]}.json", "Proof files (*.json)"
            )
        if not path:
            return
        target, rpc_url, network = Path(path), self.ctx.network.rpc_url, self.ctx.network.name

        async def work() -> Path:
            from paygo_desktop.chain.rpc import async_web3

            try:
                key = await asyncio.to_thread(self._key)  # the wallet's lookup reads the store
            except Exception as exc:  # locked, or an account without its key here
                raise UserFacingError(
                    f"Unlock the wallet to seal the proof with your key ({exc.__class__.__name__})."
                ) from None
            w3 = async_web3(rpc_url, timeout=20)
            try:
                data = await session_proof(w3, self.ctx.store, self.record.local_id, network, key)
            finally:
                await w3.provider.disconnect()
            await asyncio.to_thread(atomic_write_bytes, target, data, 0o644)
            return target

        self.runner.run(
            work(),
            on_success=lambda written: self.message.ok(f"Wrote the proof to {written}."),
            on_error=self.message.error,
            name="receipt-export",
        )
