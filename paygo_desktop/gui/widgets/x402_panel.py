"""Activity's "x402 payments": what the wallet paid for HTTP requests with x402 (``x402.payer``), each with
the request it paid for, and the spending limits set per site (``paygo-desktop x402 policy``). Read-only:
the limits are set from the command line for now. Each payment says whether it still counts against its
site's limits, and why (``X402Payment.may_still_move``, as ``x402 list``'s ``countsAgainstLimits``). Both
lists are read off the GUI thread. Shown or refreshed, it also has the chain asked about every payment
whose authorization lapsed on the server's word (``gui.x402_lapsed``, in the background): what that marks
comes back as a change the page announces, and the list is read again from it. On top, when the
app runs one, the local x402 proxy's Start/Stop and address (``X402ProxyBox``).

The selected payment's proof is checked as the app kept it (``receipts.x402_build.stored_x402_checks``:
the signature, payTo and the amount; a payment without a proof says why); "Check on chain" adds what the
node says (``receipts.chain_check``: the exact or upto kind's own checks) and "Export proof…" writes the
file sealed with the payer's key (the wallet must be unlocked). Reading, checking, signing and writing all
run off the GUI thread."""

from __future__ import annotations

import io
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from paygo_desktop.gui.async_tasks import NewestRead, TaskRunner
from paygo_desktop.gui.format import local_time, short_address
from paygo_desktop.gui.receipt_dialog import check_details, check_lines
from paygo_desktop.gui.widgets.messages import InlineMessage
from paygo_desktop.gui.widgets.tables import RowsModel, readonly_view
from paygo_desktop.money import Amount, Asset

if TYPE_CHECKING:
    from paygo_desktop.gui.x402_lapsed import X402LapsedCheck
    from paygo_desktop.gui.x402_proxy_control import X402ProxyControl
    from paygo_desktop.receipts.checks import Check

    Proof = tuple[int, dict[str, Any], list[Check]]  # the chosen payment's id, unsealed proof and checks

SHOWN = 500
STATUS_WORDS = {"pending": "Sent, not confirmed", "settled": "Paid", "failed": "Failed"}


def _amount(symbol: str, decimals: int, units: int | None) -> str:
    return "No limit" if units is None else Amount(Asset(symbol, decimals), units).format()


def _paid(row: Any) -> str:
    """What a payment moved: ``exact`` its amount; ``upto`` what it settled of its maximum, or the maximum."""
    most = _amount(row.asset_symbol, row.decimals, row.amount)
    if row.scheme != "upto":
        return most
    if row.status == "settled" and row.settled_amount is not None:
        return f"{_amount(row.asset_symbol, row.decimals, row.settled_amount)} of at most {most}"
    return f"at most {most}"


def _counts(row: Any, now: int) -> tuple[str, str]:
    """Whether a payment counts against its site's limits (``may_still_move``, at ``now``), in a word or two
    for the cell and in a sentence for its tooltip."""
    head = "Counts against this site's limits: "
    if row.may_still_move(now):
        if row.status == "settled" and not row.unused:
            return "Yes", head + "yes, the money moved."
        until = local_time(datetime.fromtimestamp(row.valid_before, UTC))
        return f"Yes, until {until}", (
            head + f"yes, until {until}: the server holds your signed authorization and could still "
            "use it until then, so it counts as if it had."
        )
    if row.never_moves:
        return "No: never moved", (
            head + "no, it never moved money: the chain shows its authorization lapsed without being used."
        )
    return "No: lapsed unused", (
        head + "no, its authorization lapsed without a settlement the app knows of. The chain is asked "
        "whether it was ever used when the app opens, when this list is refreshed and before the next "
        "payment to this site (if it was, it is marked paid and counted; if the chain cannot say, it counts)."
    )


def _verdict(checks: list[Check], *, on_chain: bool = False) -> str:
    if any(c.ok is False for c in checks):
        head = "✗ This payment's proof does not check out"
    elif on_chain:
        head = "✓ This payment's proof checks out, and the chain agrees"
    else:
        head = "✓ This payment's proof checks out: signed by you, for what the server asked"
    return head + "\n" + check_lines(checks)


class PaymentsModel(RowsModel):
    columns = ("When", "Site", "Request", "Amount", "Status", "Counts against limits", "Transaction")
    right_aligned = frozenset({3})
    now = 0  # the time the rows were read at (whether an authorization may still move money depends on it)

    def set_rows(self, rows: list[Any]) -> None:
        self.now = int(time.time())
        super().set_rows(rows)

    def cell(self, row: Any, column: int) -> str:
        if column == 0:
            return local_time(row.created_at)
        if column == 1:
            return str(row.origin)
        if column == 2:
            return f"{row.method} {row.url[len(row.origin) :] or '/'}"
        if column == 3:
            return _paid(row)
        if column == 4:
            return STATUS_WORDS.get(row.status, row.status)
        if column == 5:
            return _counts(row, self.now)[0]
        return short_address(row.tx_hash) if row.tx_hash else ""

    def tooltip(self, row: Any, column: int) -> str | None:
        if column == 2:
            return str(row.url)
        if column == 4 and row.error:
            return str(row.error)
        if column == 5:
            return _counts(row, self.now)[1]
        if column == 6 and row.tx_hash:
            return str(row.tx_hash)
        return None


class LimitsModel(RowsModel):
    columns = ("Site", "Per request", "Per 24 hours", "In total", "Ask first")
    right_aligned = frozenset({1, 2, 3})

    def cell(self, row: Any, column: int) -> str:
        if column == 0:
            return str(row.origin) + ("" if row.allowed else " (blocked)")
        if column == 4:
            return "Yes" if row.ask_first else "No"
        units = (row.max_per_request, row.max_per_day, row.max_total)[column - 1]
        return _amount(row.asset_symbol, row.decimals, units)


class X402Panel(QWidget):
    def __init__(
        self,
        ctx: Any,
        runner: TaskRunner,
        parent: QWidget | None = None,
        proxy: X402ProxyControl | None = None,
        lapsed: X402LapsedCheck | None = None,
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.runner = runner
        self.lapsed = lapsed  # the app's lapsed check, run when the list is shown or refreshed
        # reads of the list: only the newest one's is shown (a change meanwhile)
        self.reads = NewestRead(runner, "x402-payments", failed=self._failed, parent=self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.proxy_box = None
        if proxy is not None:
            from paygo_desktop.gui.widgets.x402_proxy_box import X402ProxyBox

            self.proxy_box = X402ProxyBox(proxy)
            layout.addWidget(self.proxy_box)
        row = QHBoxLayout()
        self.note = QLabel(
            "HTTP requests this wallet paid with x402, within the limits you set per site "
            "(paygo-desktop x402 policy set …). A site without limits is never paid. "
            "Export CSV… writes every payment."
        )
        self.note.setObjectName("Hint")
        self.note.setWordWrap(True)
        self.note.setTextFormat(Qt.TextFormat.PlainText)
        row.addWidget(self.note, 1)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setAccessibleName("Read the x402 payments again")
        self.export_button = QPushButton("Export CSV…")
        self.export_button.setAccessibleName("Export every x402 payment as CSV")
        self.chain_button, self.proof_button = self._proof_buttons()
        for button in (self.refresh_button, self.export_button, self.chain_button, self.proof_button):
            row.addWidget(button)
        layout.addLayout(row)
        self.message = InlineMessage(self, "x402 message")
        layout.addWidget(self.message)
        if proxy is not None:
            proxy.message.connect(
                lambda text, bad: self.message.error(text) if bad else self.message.ok(text)
            )
        self.payments = PaymentsModel(self)
        self.table = readonly_view(self.payments, "x402 payments")
        layout.addWidget(self.table, 3)
        self.proof_check = self._proof_check_label()
        layout.addWidget(self.proof_check)
        self.proof: Proof | None = None  # the chosen payment's, once checked
        self._set_proof(None)
        limits_title = QLabel("Limits per site")
        layout.addWidget(limits_title)
        self.limits = LimitsModel(self)
        layout.addWidget(readonly_view(self.limits, "x402 limits per site"), 1)
        self.refresh_button.clicked.connect(lambda: self.load(check=True))
        self.export_button.clicked.connect(self.export_csv)
        self.chain_button.clicked.connect(self.check_on_chain)
        self.proof_button.clicked.connect(lambda: self.export_proof())
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)

    @staticmethod
    def _proof_buttons() -> tuple[QPushButton, QPushButton]:
        chain = QPushButton("Check on chain")
        chain.setAccessibleName("Check the chosen x402 payment's proof on chain")
        chain.setToolTip(
            "Ask the network: the token's domain, and that the settlement used this authorization"
        )
        export = QPushButton("Export proof…")
        export.setAccessibleName("Export the chosen x402 payment's proof file")
        export.setToolTip(
            "One file with the request, the server's requirements, your signed authorization and the "
            "settlement, sealed by your key: anyone can check it with paygo-desktop receipt verify FILE"
        )
        return chain, export

    @staticmethod
    def _proof_check_label() -> QLabel:
        label = QLabel("Choose a payment to see its proof's check.")
        label.setObjectName("Hint")
        label.setAccessibleName("The chosen payment's proof check")
        label.setTextFormat(Qt.TextFormat.PlainText)
        label.setWordWrap(True)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        return label

    def load(self, *, check: bool = False) -> None:
        """Read the payments and the limits; ``check``: also have the chain asked about the lapsed ones
        (their list is read again from what that changes)."""
        from paygo_desktop.store.x402 import X402Store

        if check:
            self.check_lapsed()

        def read() -> tuple[list[Any], list[Any]]:  # SQL: in a worker thread
            records = X402Store(self.ctx.store)
            return records.payments()[:SHOWN], records.policies()

        self.refresh_button.setEnabled(False)
        self.reads.request(read, self._show)

    def check_lapsed(self) -> None:
        """Have the chain asked about every payment whose authorization lapsed on the server's word (in the
        background; a node away changes nothing and says nothing)."""
        if self.lapsed is not None:
            self.lapsed.run()

    def _show(self, found: tuple[list[Any], list[Any]]) -> None:
        self.refresh_button.setEnabled(True)
        payments, policies = found
        self.payments.set_rows(payments)
        self.limits.set_rows(policies)
        self._selection_changed()

    # ---- the chosen payment's proof

    def selected_payment(self) -> Any:
        rows = self.table.selectionModel().selectedRows()
        return self.payments.rows[rows[0].row()] if rows else None

    def _set_proof(
        self, proof: tuple[int, dict[str, Any], list[Check]] | None, text: str | None = None
    ) -> None:
        self.proof = proof
        self.chain_button.setEnabled(proof is not None)
        self.proof_button.setEnabled(proof is not None)
        if text is not None:
            self.proof_check.setText(text)
            self.proof_check.setToolTip(check_details(proof[2]) if proof else "")

    def _selection_changed(self, *_args: object) -> None:
        payment = self.selected_payment()
        if payment is None:
            self._set_proof(None, "Choose a payment to see its proof's check.")
            return
        from paygo_desktop.receipts.x402_build import stored_x402_checks

        payment_id, ctx = payment.id, self.ctx
        self._set_proof(None, "Checking the payment's proof…")

        def check() -> tuple[dict[str, Any], list[Check]]:  # SQL (the network, the payment): in a worker
            network = ctx.network
            return stored_x402_checks(ctx.store, payment_id, network.chain_id, network.name)

        def shown(result: tuple[dict[str, Any], list[Check]]) -> None:
            if self._is_chosen(payment_id):
                body, checks = result
                self._set_proof((payment_id, body, checks), _verdict(checks))

        def none(message: str) -> None:
            if self._is_chosen(payment_id):
                self._set_proof(None, f"No proof: {message}")

        self.runner.run(
            check,
            on_success=shown,
            on_error=none,
            name="x402-proof-check",
        )

    def _is_chosen(self, payment_id: int) -> bool:
        chosen = self.selected_payment()
        return chosen is not None and chosen.id == payment_id

    def check_on_chain(self) -> None:
        if self.proof is None:
            return
        payment_id, body, checks = self.proof
        rpc_url = self.ctx.network.rpc_url
        self.chain_button.setEnabled(False)

        async def work() -> list[Check]:
            from paygo_desktop.chain.rpc import async_web3
            from paygo_desktop.receipts.chain_check import chain_checks

            w3 = async_web3(rpc_url, timeout=20)
            try:
                return await chain_checks(w3, body, registry=None)  # the proof's kind: exact or upto
            finally:
                await w3.provider.disconnect()

        def done(extra: list[Check]) -> None:
            if self._is_chosen(payment_id):
                self._set_proof(self.proof, _verdict([*checks, *extra], on_chain=True))

        def failed(message: str) -> None:
            self.chain_button.setEnabled(self.proof is not None)
            self.message.error(f"The chain could not be asked: {message}")

        self.runner.run(work(), on_success=done, on_error=failed, name="x402-proof-chain")

    def export_proof(self, *, path: str | None = None) -> None:
        """The chosen payment's proof file, sealed with the payer's key, written where the user says."""
        if self.proof is None:
            return
        payment_id = self.proof[0]
        if path is None:
            path, _ = QFileDialog.getSaveFileName(
                self, "Export the payment's proof", f"paygo-x402-{payment_id}.json", "Proof files (*.json)"
            )
        if not path:
            return
        target, ctx = Path(path), self.ctx

        def work() -> Path:  # SQL, the key, the seal and the file: in a worker thread
            from paygo_desktop.fileio import atomic_write_bytes
            from paygo_desktop.receipts.x402_build import settled_payment, x402_proof

            store, network, wallet = ctx.store, ctx.network, ctx.wallet

            key = wallet.local_account(settled_payment(store, payment_id).payer)
            atomic_write_bytes(
                target, x402_proof(store, payment_id, network.chain_id, network.name, key), 0o644
            )
            return target

        self.runner.run(
            work,
            on_success=lambda written: self.message.ok(f"Wrote the payment's proof to {written}."),
            on_error=self.message.error,
            name="x402-proof-export",
        )

    def export_csv(self, *, path: str | None = None) -> None:
        if path is None:
            path, _ = QFileDialog.getSaveFileName(
                self, "Export x402 payments", "paygo-x402-payments.csv", "CSV files (*.csv)"
            )
        if not path:
            return
        target = Path(path)

        def export() -> int:  # SQL and the file: in a worker thread
            from paygo_desktop.fileio import atomic_write_text
            from paygo_desktop.history.x402_csv import export_csv
            from paygo_desktop.store.x402 import X402Store

            buffer = io.StringIO(newline="")
            count = export_csv(X402Store(self.ctx.store).payments(), buffer)
            atomic_write_text(target, buffer.getvalue(), 0o644)
            return count

        def done(count: int) -> None:
            self.message.ok(f"Exported {count} payment{'s' if count != 1 else ''} to {target}.")

        self.runner.run(export, on_success=done, on_error=self.message.error, name="x402-export")

    def _failed(self, message: str) -> None:
        self.refresh_button.setEnabled(True)
        self.message.error(f"The x402 payments could not be read: {message}")
