"""The Services page: every provider's catalog (the ones the user added and the ones registered in PayGo's
provider registry: ``services.registry``), searchable, filterable and sortable by price.

Loading happens in the background (``services.catalog``); a provider that fails is listed under the table
with its reason, and never stops the others from showing. Text from providers is shown as plain text.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QStackedWidget,
    QWidget,
)

from paygo_desktop.changes import Changes
from paygo_desktop.gui.async_tasks import TaskRunner
from paygo_desktop.gui.pages.base import Page
from paygo_desktop.gui.settings_writes import SettingsWrites
from paygo_desktop.gui.widgets.empty_state import EmptyState
from paygo_desktop.gui.widgets.messages import InlineMessage
from paygo_desktop.gui.widgets.tables import RowsModel, readonly_view

if TYPE_CHECKING:
    from paygo_desktop.context import AppContext

COLUMNS = ("Service", "Provider", "Type", "Category", "Rate", "Per hour", "Availability", "Provider's record")
RECORD_HINT = (
    "What this provider's signed receipts said beside your own meter, session by session: agreed, "
    "over-claims (asked more than measured), disagreements, forged receipts, refusals (no receipt, or no "
    "settling at the meter), broken receipts (it later held you to more than its receipt settled at)."
)
SORTS = (
    ("Name", "name"),
    ("Price per hour, lowest first", "price"),
    ("Price per hour, highest first", "price-desc"),
)
ANY = "__any__"


class CatalogTableModel(RowsModel):
    columns = COLUMNS
    right_aligned = frozenset({4, 5})
    records: dict[str, Any] = {}  # noqa: RUF012 - the provider records by URL (reports.provider_record)

    def set_records(self, records: dict[str, Any]) -> None:
        self.beginResetModel()
        self.records = records
        self.endResetModel()

    def tooltip(self, entry: Any, column: int) -> str | None:
        if column == 7:
            record = self.records.get(entry.provider_url)
            problem = f"\nLast: {record.last_problem}" if record is not None and record.last_problem else ""
            return RECORD_HINT + problem
        return (entry.service.description or entry.service.name) if column == 0 else None

    def cell(self, entry: Any, column: int) -> str:
        service = entry.service
        if column == 0:
            return str(service.name)
        if column == 1:
            return str(entry.provider_name)
        if column == 2:
            return str(service.type.value).capitalize()
        if column == 3:
            return str(service.category).replace("-", " ").capitalize()
        if column == 4:
            return f"{entry.rate.format()} / {entry.unit_label}"
        if column == 5:
            return "per request (x402)" if entry.per_hour is None else entry.per_hour.format(max_decimals=6)
        if column == 6:
            return "Available" if entry.available else "Paused by the provider"
        record = self.records.get(entry.provider_url)
        return record.text() if record is not None else "No sessions yet"


class ServicesPage(Page):
    key = "services"
    title = "Services"
    shows = Changes(network=True, providers=True, sessions=True)  # sessions: the providers' records
    providers_changed = Signal()

    def __init__(
        self,
        ctx: AppContext,
        runner: TaskRunner,
        start_session: Callable[[str, str], None] | None = None,
        parent: QWidget | None = None,
        *,
        live_sessions: Callable[[], list[Any]] = list,
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.runner = runner
        self.settings_writes = SettingsWrites(ctx, runner, parent=self)  # a provider added, saved in a worker
        self.start_session = start_session
        self.live_sessions = live_sessions  # the running sessions: Call… goes through one when it can
        self.catalog: Any = None
        self._loaded_urls: list[str] | None = None

        self._build_filters()
        self._build_catalog()
        self._connect()

    def _build_filters(self) -> None:
        """The search, the filters, Reload and Start, and the row that adds a provider."""
        filters = QHBoxLayout()
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search services")
        self.search.setAccessibleName("Search services")
        self.category = self._combo("Category")
        self.type = self._combo("Type")
        self.provider = self._combo("Provider")
        self.sort = QComboBox()
        self.sort.setAccessibleName("Sort by")
        for label, value in SORTS:
            self.sort.addItem(label, value)
        self.start_button = QPushButton("Start session…")
        self.start_button.setObjectName("Primary")
        self.start_button.setAccessibleName("Start a session with the selected service")
        self.start_button.setEnabled(False)
        self.reload_button = QPushButton("Reload")
        self.reload_button.setAccessibleName("Reload the catalogs")
        for widget in (
            self.search,
            self.category,
            self.type,
            self.provider,
            self.sort,
            self.reload_button,
            self.start_button,
        ):
            filters.addWidget(widget, 2 if widget is self.search else 0)
        self.layout_.addLayout(filters)

        add_row = QHBoxLayout()
        self.provider_url = QLineEdit()
        self.provider_url.setPlaceholderText("https://provider.example — add a provider by its address")
        self.provider_url.setAccessibleName("Provider address")
        self.add_button = QPushButton("Add provider")
        self.add_button.setAccessibleName("Add provider")
        add_row.addWidget(self.provider_url, 1)
        add_row.addWidget(self.add_button)
        self.layout_.addLayout(add_row)

    def _build_catalog(self) -> None:
        """The catalog's status line and problems, and the table of services (or why it is empty)."""
        self.status = QLabel()
        self.status.setObjectName("Hint")
        self.status.setAccessibleName("Catalog status")
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.layout_.addWidget(self.status)
        self.message = InlineMessage(self, "Provider problems")
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.layout_.addWidget(self.message)

        self.stack = QStackedWidget()
        self.model = CatalogTableModel(self)
        self.table = readonly_view(self.model, "Services")
        self.empty = EmptyState(
            "No providers yet",
            "Add a provider by its address above, or choose the Sandbox network in Settings to try the app "
            "with a local provider.",
            "Each provider's services appear here with their price as given and per hour, and whether they "
            "are available now.",
        )
        self.no_match = EmptyState(
            "No service matches",
            "Nothing in the catalogs matches the search and filters.",
            "Clear the search or choose “All” in the filters to see every service again.",
        )
        for view in (self.table, self.empty, self.no_match):
            self.stack.addWidget(view)
        self.layout_.addWidget(self.stack, 1)

    def _connect(self) -> None:
        """What each control does."""
        self.search.textChanged.connect(self.apply_filters)
        for combo in (self.category, self.type, self.provider, self.sort):
            combo.currentIndexChanged.connect(self.apply_filters)
        self.reload_button.clicked.connect(lambda: self.load(force=True))
        self.start_button.clicked.connect(self.start_selected)
        self.table.doubleClicked.connect(lambda _index: self.start_selected())
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.add_button.clicked.connect(self.add_provider)
        self.provider_url.returnPressed.connect(self.add_provider)
        self.stack.setCurrentWidget(self.empty)

    def _combo(self, what: str) -> QComboBox:
        combo = QComboBox()
        combo.setAccessibleName(f"Filter by {what.lower()}")
        combo.addItem(f"All {what.lower()}s" if what != "Category" else "All categories", ANY)
        return combo

    # -- loading -----------------------------------------------------------------------------------------
    def refresh(self) -> None:
        self.load()
        if self.catalog is not None:
            self.load_records()  # sessions may have ended since: their verdicts are new

    def load(self, *, force: bool = False) -> None:
        urls = self.ctx.provider_urls()
        if not urls and self.ctx.network.is_local:  # and no provider registry to read either
            self.catalog = None
            self._loaded_urls = []
            self.model.set_rows([])
            self.status.setText("")
            self.message.clear_message()
            self.stack.setCurrentWidget(self.empty)
            return
        if urls == self._loaded_urls and not force:
            return
        from paygo_desktop.services.registry import load_for  # the user's providers and the registered ones

        self._loaded_urls = urls
        self.status.setText("Loading services…")
        self.reload_button.setEnabled(False)
        self.runner.run(
            load_for(self.ctx), on_success=self._loaded, on_error=self._failed, name="load-catalog"
        )

    def _loaded(self, catalog: Any) -> None:
        self.catalog = catalog
        self.reload_button.setEnabled(True)
        self.load_records()
        for combo, values in (
            (self.category, catalog.categories()),
            (self.type, catalog.types()),
            (self.provider, catalog.providers()),
        ):
            current = combo.currentData()
            combo.blockSignals(True)
            while combo.count() > 1:
                combo.removeItem(1)
            for value in values:
                combo.addItem(
                    value.replace("-", " ").capitalize() if combo is not self.provider else value, value
                )
            index = combo.findData(current)
            combo.setCurrentIndex(max(index, 0))
            combo.blockSignals(False)
        problems = [f"{f.url}: {f.message}" for f in catalog.failures]
        if catalog.skipped_items:
            problems.append(
                f"{catalog.skipped_items} listed service{'s were' if catalog.skipped_items > 1 else ' was'} "
                "skipped: invalid, or priced in an asset the provider does not describe."
            )
        if problems:
            self.message.error("Some providers could not be shown in full:\n" + "\n".join(problems))
        else:
            self.message.clear_message()
        self.apply_filters()

    def load_records(self) -> None:
        """Each provider's record with this wallet, read off the GUI thread."""
        from paygo_desktop.reports.provider_record import provider_records
        from paygo_desktop.store.provider_notes import ProviderNotes

        notes = ProviderNotes(self.ctx.store)
        self.runner.run(
            lambda: provider_records(notes.all()), on_success=self.model.set_records, name="provider-records"
        )

    def _failed(self, message: str) -> None:
        self.reload_button.setEnabled(True)
        self.status.setText("")
        self.message.error(message)

    # -- filtering ---------------------------------------------------------------------------------------
    def apply_filters(self) -> None:
        if self.catalog is None:
            return

        def chosen(combo: QComboBox) -> str | None:
            value = combo.currentData()
            return None if value == ANY else value

        entries = self.catalog.select(
            search=self.search.text(),
            category=chosen(self.category),
            type=chosen(self.type),
            provider=chosen(self.provider),
            sort=self.sort.currentData() or "name",
        )
        self.model.set_rows(entries)
        self._selection_changed()
        total = len(self.catalog.entries)
        providers = len(self.catalog.providers())
        self.status.setText(
            f"{len(entries)} of {total} services from {providers} provider{'s' if providers != 1 else ''}"
        )
        if entries:
            self.stack.setCurrentWidget(self.table)
        elif total:
            self.stack.setCurrentWidget(self.no_match)
        else:
            self.stack.setCurrentWidget(self.empty)

    # -- starting a session ------------------------------------------------------------------------------
    def selected_entry(self) -> Any:
        rows = self.table.selectionModel().selectedRows()
        return self.model.rows[rows[0].row()] if rows else None

    def _selection_changed(self, *_args: object) -> None:
        entry = self.selected_entry()
        per_request = entry is not None and entry.per_request
        self.start_button.setText("Call…" if per_request else "Start session…")
        can = per_request or self.start_session is not None
        self.start_button.setEnabled(can and entry is not None and entry.available)

    def start_selected(self) -> None:
        entry = self.selected_entry()
        if entry is None or (self.start_session is None and not entry.per_request):
            return
        if not entry.available:
            self.message.error(f"{entry.service.name} is paused by its provider; try again later.")
            return
        if entry.per_request:  # one paid request with x402, not a session
            from paygo_desktop.gui.x402_call_dialog import X402CallDialog

            self.call_dialog = X402CallDialog(
                self.ctx, self.runner, entry, self, self.live_sessions, announce=self.announce
            )
            self.call_dialog.show()
            return
        assert self.start_session is not None
        self.start_session(entry.provider_url, entry.service.id)

    # -- providers ---------------------------------------------------------------------------------------
    def add_provider(self) -> None:
        url = self.provider_url.text().strip().rstrip("/")
        if not url.startswith(("http://", "https://")) or len(url) > 300 or " " in url:
            self.message.error("A provider's address starts with https:// (or http:// on this computer).")
            return
        if url in self.ctx.settings.providers:
            self.message.error("That provider is already in the list.")
            return
        self.ctx.settings.providers.append(url)
        self.settings_writes.save(failed=self.message.error)
        self.provider_url.clear()
        self.providers_changed.emit()
        self.announce(Changes(providers=True))
        self.load(force=True)
