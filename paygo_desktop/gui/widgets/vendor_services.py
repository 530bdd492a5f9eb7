"""The Vendor page's Services tab: the provider's metered services (paused ones too) with their price and
upstream, and a form to create one, change it (name, type, price, tick, grace, and the upstream the
provider's gateway delivers it from: HTTP, WebSocket or media and its address) or pause and resume it, through
the provider's service routes signed with the provider's key (``vendor.service_editor``).

Every request runs in a worker thread with its own event loop (the key's signing included, as the page's
other loads); results come back through the task runner's signals.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from paygo_desktop.gui.widgets.messages import InlineMessage
from paygo_desktop.gui.widgets.tables import readonly_table

if TYPE_CHECKING:
    from paygo_desktop.context import AppContext
    from paygo_desktop.gui.async_tasks import TaskRunner
    from paygo_desktop.protocol import models as m
    from paygo_desktop.vendor.service_editor import ServiceDraft

COLUMNS = ["Service", "Type", "Price", "Delivered from", "State"]
UNITS = {"per_second": "second", "per_minute": "minute", "per_hour": "hour", "per_request": "request"}
DELIVERIES = {
    "": "Not through the gateway",
    "http": "HTTP (an API or web app)",
    "websocket": "WebSocket",
    "media": "Media (audio, video: byte ranges, HLS)",
}


class VendorServicesPanel(QWidget):
    """The services of the provider the Vendor page is connected to, and the form that edits them."""

    def __init__(self, ctx: AppContext, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.runner = runner
        self.url: str | None = None
        self.account: str | None = None
        self.services: list[m.Service] = []
        self.assets: list[m.AssetInfo] = []
        self.editing: str | None = None  # the service id the form edits; None: a new one
        self.acting = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        hint = QLabel(
            "The services your provider sells by the second. Give one an upstream and the provider's gateway "
            "delivers it, for exactly as long as the user pays; the provider only takes upstreams on the "
            "hosts its config lists in upstream_hosts."
        )
        hint.setWordWrap(True)
        hint.setObjectName("Hint")
        layout.addWidget(hint)
        self.message = InlineMessage(self, "Services message")
        layout.addWidget(self.message)
        self.table = readonly_table(COLUMNS, "Your provider's services")
        self.table.itemSelectionChanged.connect(self._selected)
        layout.addWidget(self.table, 1)
        self._build_form(layout)

    def _build_form(self, layout: QVBoxLayout) -> None:
        form = QFormLayout()
        self._build_terms(form)
        self._build_delivery(form)
        layout.addLayout(form)
        self._build_buttons(layout)

    def _build_terms(self, form: QFormLayout) -> None:
        """What is sold and its price: name, category, type, price per unit, tick and grace."""
        self.name = QLineEdit()
        self.name.setAccessibleName("Service name")
        self.category = QLineEdit("data")
        self.category.setAccessibleName("Category")
        self.kind = QComboBox()
        self.kind.setAccessibleName("Service type")
        # its items come with the first catalog read (protocol.models loads eth_account: not while the page
        # is built)
        price_row = QHBoxLayout()
        self.price = QLineEdit()
        self.price.setAccessibleName("Price")
        self.price.setPlaceholderText("0.50")
        self.asset = QComboBox()
        self.asset.setAccessibleName("Paid in")
        self.unit = QComboBox()
        self.unit.setAccessibleName("Price per")
        for unit, words in UNITS.items():
            self.unit.addItem(words, unit)
        price_row.addWidget(self.price, 1)
        price_row.addWidget(self.asset)
        price_row.addWidget(QLabel("per"))
        price_row.addWidget(self.unit)
        self.tick = QSpinBox()
        self.tick.setRange(1, 3600)
        self.tick.setValue(10)
        self.tick.setSuffix(" s")
        self.tick.setAccessibleName("Tick")
        self.grace = QSpinBox()
        self.grace.setRange(0, 3600)
        self.grace.setValue(10)
        self.grace.setSuffix(" s")
        self.grace.setAccessibleName("Grace")
        form.addRow("Name", self.name)
        form.addRow("Category", self.category)
        form.addRow("Type", self.kind)
        form.addRow("Price", price_row)
        form.addRow("Tick (paid ahead)", self.tick)
        form.addRow("Grace", self.grace)

    def _build_delivery(self, form: QFormLayout) -> None:
        """Where the gateway takes it from, and whether it is listed."""
        self.delivery = QComboBox()
        self.delivery.setAccessibleName("Delivered over")
        for value, words in DELIVERIES.items():
            self.delivery.addItem(words, value)
        self.upstream = QLineEdit()
        self.upstream.setAccessibleName("Upstream address")
        self.upstream.setPlaceholderText("http://127.0.0.1:9002 or ws://127.0.0.1:9001/feed")
        self.active = QCheckBox("Listed in the catalog")
        self.active.setChecked(True)
        form.addRow("Delivered over", self.delivery)
        form.addRow("Upstream", self.upstream)
        form.addRow("", self.active)

    def _build_buttons(self, layout: QVBoxLayout) -> None:
        buttons = QHBoxLayout()
        self.new_button = QPushButton("New service")
        self.new_button.setAccessibleName("Start a new service")
        self.new_button.clicked.connect(self.new_service)
        self.save_button = QPushButton("Create service")
        self.save_button.setObjectName("Primary")
        self.save_button.setAccessibleName("Save the service")
        self.save_button.clicked.connect(self.save)
        self.pause_button = QPushButton("Pause")
        self.pause_button.setAccessibleName("Pause or resume the service")
        self.pause_button.clicked.connect(self.toggle_pause)
        self.pause_button.setEnabled(False)
        buttons.addWidget(self.new_button)
        buttons.addStretch(1)
        buttons.addWidget(self.pause_button)
        buttons.addWidget(self.save_button)
        layout.addLayout(buttons)

    # ---- reading
    def set_provider(self, url: str, account: str) -> None:
        changed = (url, account) != (self.url, self.account)
        self.url, self.account = url, account
        if changed:
            self.editing = None
        self.reload()

    def _with_client(self, work: Any) -> Any:
        from paygo_desktop.gui.vendor_calls import with_provider

        assert self.url is not None and self.account is not None, "connected first"
        return with_provider(self.ctx, self.url, self.account, work)

    def reload(self) -> None:
        if self.url is None or self.account is None:
            return
        from paygo_desktop.vendor.service_editor import load_catalog

        def done(result: object) -> None:
            catalog: Any = result
            self.show_services(catalog.services, catalog.assets)

        self.runner.run(
            self._with_client,
            load_catalog,
            on_success=done,
            on_error=self.message.error,
            name="vendor-services",
        )

    def show_services(self, services: list[m.Service], assets: list[m.AssetInfo]) -> None:
        from paygo_desktop.protocol.models import ServiceType
        from paygo_desktop.vendor.service_editor import draft_of

        self.services, self.assets = services, assets
        if not self.kind.count():
            for kind in ServiceType:
                self.kind.addItem(kind.value.capitalize(), kind.value)
        chosen = self.asset.currentText()
        self.asset.clear()
        for info in assets:
            self.asset.addItem(info.symbol)
        self.asset.setCurrentText(chosen or "USDC")
        self.table.blockSignals(True)
        self.table.setRowCount(len(services))
        for row, service in enumerate(services):
            draft = draft_of(service, assets)
            upstream = service.upstream.url if service.upstream is not None else "—"
            cells = (
                service.name,
                service.type.value.capitalize(),
                f"{draft.price} {draft.asset} per {UNITS[draft.unit]}",
                upstream,
                "Listed" if service.is_active else "Paused",
            )
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                item.setData(Qt.ItemDataRole.UserRole, service.id)
                self.table.setItem(row, column, item)
            if service.id == self.editing:
                self.table.selectRow(row)
        self.table.blockSignals(False)
        self._show_form_mode()

    # ---- the form
    def _selected(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if not rows or self.acting:
            return
        service = self.services[rows[0].row()]
        from paygo_desktop.vendor.service_editor import draft_of

        self.editing = service.id
        self.fill(draft_of(service, self.assets))
        self._show_form_mode()

    def fill(self, draft: ServiceDraft) -> None:
        self.name.setText(draft.name)
        self.category.setText(draft.category)
        self.kind.setCurrentIndex(max(0, self.kind.findData(draft.type)))
        self.price.setText(draft.price)
        self.asset.setCurrentText(draft.asset)
        self.unit.setCurrentIndex(max(0, self.unit.findData(draft.unit)))
        self.tick.setValue(draft.tick_seconds)
        self.grace.setValue(draft.grace_seconds)
        self.delivery.setCurrentIndex(max(0, self.delivery.findData(draft.delivery)))
        self.upstream.setText(draft.upstream_url)
        self.active.setChecked(draft.is_active)

    def draft(self) -> ServiceDraft:
        from paygo_desktop.vendor.service_editor import ServiceDraft

        return ServiceDraft(
            name=self.name.text(),
            category=self.category.text(),
            type=str(self.kind.currentData()),
            price=self.price.text(),
            asset=self.asset.currentText(),
            unit=str(self.unit.currentData()),
            tick_seconds=self.tick.value(),
            grace_seconds=self.grace.value(),
            delivery=str(self.delivery.currentData() or ""),
            upstream_url=self.upstream.text(),
            is_active=self.active.isChecked(),
        )

    def new_service(self) -> None:
        self.editing = None
        self.table.clearSelection()
        for field in (self.name, self.price, self.upstream):
            field.clear()
        self.active.setChecked(True)
        self.message.clear_message()
        self._show_form_mode()
        self.name.setFocus()

    def _show_form_mode(self) -> None:
        current = next((s for s in self.services if s.id == self.editing), None)
        self.save_button.setText("Create service" if current is None else "Save changes")
        self.pause_button.setEnabled(current is not None and not self.acting)
        self.pause_button.setText("Resume" if current is not None and not current.is_active else "Pause")

    # ---- acting
    def save(self) -> None:
        from paygo_desktop.vendor.service_editor import ServiceEditError, fields_of, save

        draft = self.draft()
        try:
            fields_of(draft, self.assets)  # what the app can tell is wrong, at once, before any request
        except ServiceEditError as exc:
            self.message.error(str(exc))
            return
        service_id, assets = self.editing, self.assets
        said = "Created" if service_id is None else "Saved"
        self._run(
            lambda client, key: save(client, key, draft, assets, service_id), f"{said} {draft.name.strip()}."
        )

    def toggle_pause(self) -> None:
        from paygo_desktop.vendor.service_editor import set_active

        service = next((s for s in self.services if s.id == self.editing), None)
        if service is None:
            return
        active = not service.is_active
        said = f"{'Resumed' if active else 'Paused'} {service.name}."
        self._run(lambda client, key: set_active(client, key, service, active), said)

    def _run(self, work: Any, success: str) -> None:
        self.acting = True
        self.save_button.setEnabled(False)
        self.pause_button.setEnabled(False)
        self.message.ok("Asking the provider…")

        def done(result: object) -> None:
            saved: Any = result
            self.acting = False
            self.editing = saved.id
            self.save_button.setEnabled(True)
            self.message.ok(success)
            self.reload()

        def failed(message: str) -> None:
            self.acting = False
            self.save_button.setEnabled(True)
            self._show_form_mode()
            self.message.error(message)

        self.runner.run(self._with_client, work, on_success=done, on_error=failed, name="vendor-service-save")
