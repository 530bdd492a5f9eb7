"""The Zcash page's "New permission" box: the provider, the user's Zcash address, amount, rate and days,
what they buy (checked as they are typed), and the permission created through the permission book in a
worker (the provider asked; nothing on the GUI thread). ``on_created`` gets the new permission's view.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from paygo_desktop.gui.async_tasks import TaskRunner
from paygo_desktop.gui.widgets.messages import InlineMessage

if TYPE_CHECKING:
    from paygo_desktop.context import AppContext


class PermissionForm(QGroupBox):
    """Buying a Zcash spending permission: the form, its preview and its create button."""

    def __init__(
        self,
        ctx: AppContext,
        runner: TaskRunner,
        on_created: Callable[[Any], None],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__("New permission", parent)
        self.ctx = ctx
        self.runner = runner
        self.on_created = on_created  # the page shows the new permission, selected
        form = QFormLayout(self)
        self.provider = QComboBox()
        self.provider.setAccessibleName("Provider")
        self.user_address = QLineEdit()
        self.user_address.setPlaceholderText("zs1…, u1…, t1… (testnet: ztestsapling1…, utest1…, tm…)")
        self.user_address.setAccessibleName("Your Zcash address")
        self.user_address.setToolTip(
            "The address you pay from. The provider ties the permission to it and can find it by it later."
        )
        self.amount = QLineEdit()
        self.amount.setPlaceholderText("for example 0.5")
        self.amount.setAccessibleName("Amount in ZEC")
        self.rate = QLineEdit()
        self.rate.setPlaceholderText("for example 0.01")
        self.rate.setAccessibleName("Rate per hour in ZEC")
        self.days = QSpinBox()
        self.days.setRange(1, 365)
        self.days.setValue(30)
        self.days.setSuffix(" days")
        self.days.setAccessibleName("Lasts for")
        self.hours = QLabel()
        self.hours.setWordWrap(True)
        self.hours.setAccessibleName("What the amount buys")
        self.create_error = InlineMessage(self, "Why the permission cannot be created")
        self.create_error.setTextFormat(Qt.TextFormat.PlainText)
        self.create_button = QPushButton("Create permission")
        self.create_button.setObjectName("Primary")
        self.create_button.setAccessibleName("Create permission")
        form.addRow("Provider", self.provider)
        form.addRow("Your Zcash address", self.user_address)
        form.addRow("Amount (ZEC)", self.amount)
        form.addRow("Rate per hour (ZEC)", self.rate)
        form.addRow("Lasts", self.days)
        form.addRow("", self.hours)
        form.addRow("", self.create_error)
        form.addRow("", self.create_button)
        for field in (self.amount, self.rate):
            field.textChanged.connect(self._update_hours)
        self.days.valueChanged.connect(self._update_hours)
        self.create_button.clicked.connect(self.create_permission)
        self._update_hours()

    def fill_providers(self) -> None:
        """The providers to buy from (``ctx.provider_urls()``), the one chosen kept chosen."""
        current = self.provider.currentData()
        self.provider.clear()
        for url in self.ctx.provider_urls():
            self.provider.addItem(url, url)
        index = self.provider.findData(current)
        self.provider.setCurrentIndex(max(index, 0))
        has = self.provider.count() > 0
        self.provider.setEnabled(has)
        self.provider.setToolTip(
            "" if has else "Add a provider on the Services page, or choose the Sandbox network in Settings."
        )
        self._update_hours()

    def _update_hours(self) -> None:
        from paygo_desktop.zcash.terms_input import describe

        ok, text = describe(self.amount.text(), self.rate.text(), self.days.value())
        if not self.amount.text().strip() and not self.rate.text().strip():
            ok, text = False, "Enter an amount and a rate to see how many hours it buys."
        self.hours.setText(text)
        self.hours.setObjectName("" if ok else "Hint")
        self.hours.style().unpolish(self.hours)
        self.hours.style().polish(self.hours)
        self.create_button.setEnabled(ok and self.provider.count() > 0)

    def _account(self) -> str | None:
        """The active account (SQL: call it off the GUI thread)."""
        active = self.ctx.settings.active_account
        records = self.ctx.accounts.list()
        for record in records:
            if record.address.lower() == (active or "").lower():
                return str(record.address)
        return str(records[0].address) if records else None

    def create_permission(self) -> None:
        from paygo_desktop.zcash.addresses import InvalidAddress, parse_address
        from paygo_desktop.zcash.terms_input import TermsError, parse_terms

        self.create_error.clear_message()
        url = self.provider.currentData()
        if not url:
            self.create_error.error("Choose a provider first (add one on the Services page).")
            return
        try:
            terms = parse_terms(self.amount.text(), self.rate.text(), self.days.value())
        except TermsError as exc:
            self.create_error.error(str(exc))
            return
        address = self.user_address.text().strip()
        if not address:
            self.create_error.error("Enter your Zcash address: the provider ties the permission to it.")
            return
        try:
            parse_address(address)
        except InvalidAddress as exc:
            self.create_error.error(f"That is not a Zcash address: {exc.message}.")
            return
        self.create_button.setEnabled(False)
        self.create_error.ok("Asking the provider…")

        async def create() -> Any:
            import asyncio

            from paygo_desktop.wallet.errors import WalletError

            account = await asyncio.to_thread(self._account)
            if account is None:
                raise WalletError("There is no account in this wallet yet.")
            return await self.ctx.zcash_book.create(url, account, address, terms)

        def done(view: Any) -> None:
            self.create_error.ok("Created. Pay the request on the right, then press “I have paid”.")
            self.amount.clear()
            self.rate.clear()
            self.on_created(view)

        def failed(message: str) -> None:
            self.create_error.error(message)
            self._update_hours()

        self.runner.run(
            create(),
            on_success=done,
            on_error=failed,
            name="zcash-create",
        )
