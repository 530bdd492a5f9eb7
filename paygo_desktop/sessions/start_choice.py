"""The choice before a session starts, Qt-free: how to pay, a budget cap, a deposit, and what they mean.

The start dialog draws ``view()`` and forwards each edit (``select``, ``set_budget``, ``set_deposit``,
``set_fallback``); everything it shows — defaults, proposals, hints, the problem that keeps Start disabled —
is decided here. Amounts are typed in whole units of the asset ("2.5") and kept as integer base units: the
budget in the asset of the chosen way to pay (ZEC for a Zcash permission), the deposit always in the escrow
channel's asset.

Paying from a Zcash permission, the user may let the escrow channel take over when the permission runs
out: the budget may then go beyond what the permission has left, the time beyond it is paid from the
channel at the service's own rate, and a deposit for that part can be made before the session starts.
"""

from __future__ import annotations

from dataclasses import dataclass

from paygo_desktop.metering.meter import Price
from paygo_desktop.money import Amount, AmountError, Asset
from paygo_desktop.sessions.holdings import holding_problem
from paygo_desktop.sessions.plan import FundingOption, SessionPlan, StartOptions
from paygo_desktop.sessions.terms import Funding, rate_text

DEFAULT_BUDGET_SECONDS = 3600  # the budget offered at first: one hour at this rate


@dataclass(frozen=True)
class ChoiceView:
    """What the start dialog shows now."""

    budget_label: str  # "Budget (USDC)"
    budget_text: str
    deposit_text: str
    deposit_enabled: bool
    fallback_visible: bool
    fallback_checked: bool
    buys_seconds: int | None  # what the budget buys (None: no budget typed)
    deposit_hint: str
    fallback_hint: str | None  # None: hidden
    problem: str | None  # why Start is disabled (None: it is enabled)
    show_problem: bool  # said out loud once the user typed something


class StartChoice:
    def __init__(self, plan: SessionPlan) -> None:
        self.plan = plan
        self.index = 0
        self.budget_text = ""
        self.deposit_text = ""
        self.fallback = False
        self.budget_text = self._text(self._default_budget())
        self.select(0)

    # -- the chosen way to pay -------------------------------------------------------------------------
    def selected(self) -> FundingOption | None:
        options = self.plan.options
        return options[self.index] if 0 <= self.index < len(options) else None

    def asset(self) -> Asset:
        """The asset of the chosen way to pay: a Zcash permission bills in ZEC at its own rate."""
        option = self.selected()
        return (option.asset if option is not None else None) or self.plan.asset

    def price(self) -> Price:
        option = self.selected()
        return (option.price if option is not None else None) or self.plan.price

    def escrow_option(self) -> FundingOption | None:
        return self.plan.option(Funding.ESCROW)

    def falls_back(self) -> bool:
        """A Zcash permission pays, and the escrow channel takes over when it runs out."""
        option = self.selected()
        return (
            option is not None
            and option.kind is Funding.ZCASH
            and self.fallback
            and self.escrow_option() is not None
        )

    def deposit_enabled(self) -> bool:
        option = self.selected()
        return (option is not None and option.kind is Funding.ESCROW) or self.falls_back()

    # -- the user's edits ------------------------------------------------------------------------------
    def select(self, index: int) -> None:
        """Another way to pay: its default budget, its standing fallback choice, a deposit it needs."""
        self.index = index
        option = self.selected()
        self.budget_text = self._text(self._default_budget())
        zcash = option is not None and option.kind is Funding.ZCASH
        self.fallback = zcash and option is not None and option.allow_fallback
        if zcash:
            self.deposit_text = ""  # a deposit proposed for the escrow option is not this one's
            self._propose_fallback_deposit()
        escrow = option is not None and option.kind is Funding.ESCROW
        if escrow and option is not None and option.needs_deposit and not self.deposit_text.strip():
            budget = self._amount(self.budget_text)
            shortfall = (budget or self._default_budget()) - option.in_sight
            if shortfall > 0:
                self.deposit_text = self._deposit_text(shortfall)

    def set_budget(self, text: str) -> None:
        self.budget_text = text

    def set_deposit(self, text: str) -> None:
        self.deposit_text = text

    def set_fallback(self, checked: bool) -> None:
        self.fallback = checked
        self._propose_fallback_deposit()

    def _propose_fallback_deposit(self) -> None:
        """With the fallback and no deposit typed: propose what the channel lacks for the part beyond the
        permission."""
        escrow = self.escrow_option()
        if not self.falls_back() or escrow is None or self.deposit_text.strip():
            return
        shortfall = self.escrow_part(self._amount(self.budget_text) or 0) - escrow.in_sight
        if shortfall > 0:
            self.deposit_text = self._deposit_text(shortfall)

    # -- amounts ---------------------------------------------------------------------------------------
    def _text(self, units: int) -> str:
        return Amount(self.asset(), units).format(symbol=False, grouping=False)

    def _deposit_text(self, units: int) -> str:
        return Amount(self.plan.asset, units).format(symbol=False, grouping=False)

    def _default_budget(self) -> int:
        budget = self.price().cost_seconds(DEFAULT_BUDGET_SECONDS)
        option = self.selected()
        if option is not None and option.in_sight and not option.needs_deposit:
            budget = min(budget, option.in_sight)
        return max(budget, 1)

    def _amount(self, text: str) -> int | None:
        try:
            return Amount.parse(text, self.asset()).units if text.strip() else 0
        except AmountError:
            return None

    def budget(self) -> int | None:
        return self._amount(self.budget_text)

    def deposit(self) -> int | None:
        """The deposit, in the escrow channel's asset (0 when the deposit does not apply)."""
        if not self.deposit_enabled():
            return 0
        try:
            return Amount.parse(self.deposit_text, self.plan.asset).units if self.deposit_text.strip() else 0
        except AmountError:
            return None

    def escrow_part(self, budget: int) -> int:
        """With the fallback: what the escrow channel pays for the time the budget buys beyond what the
        permission has left, at the service's own rate (0 when the permission covers it all)."""
        option = self.selected()
        if option is None or option.available is None:
            return 0
        beyond = self.price().seconds_for(max(0, budget - option.available))
        return self.plan.price.cost_seconds(beyond)

    # -- what is shown ---------------------------------------------------------------------------------
    def problem(self) -> str | None:
        option, budget, deposit = self.selected(), self.budget(), self.deposit()
        symbol = self.asset().symbol
        if option is None:
            return "This provider offers no way to pay that this wallet can use."
        if budget is None:
            return f"The budget is not an amount of {symbol}."
        if deposit is None:
            return f"The deposit is not an amount of {symbol}."
        if budget <= 0:
            return "Set a budget above zero."
        if self.price().seconds_for(budget) < self.plan.tick_seconds:
            return f"That budget buys less than one {self.plan.tick_seconds}-second step."
        if option.kind is Funding.ESCROW or self.falls_back():
            escrow = self.escrow_option()
            holding = holding_problem(self.plan.asset, escrow, deposit, self.plan.provider.name)
            if holding is not None:
                return holding
        if self.falls_back():
            escrow = self.escrow_option()
            room = escrow.in_sight + deposit if escrow is not None else 0
            if self.escrow_part(budget) > room:
                return (
                    "The part of the budget beyond the permission is more than the escrow channel will "
                    "hold; add a larger deposit."
                )
            return None
        if option.available is not None and budget > option.in_sight + deposit:
            if option.kind is Funding.ESCROW:
                return "The budget is more than the channel will hold; add a larger deposit."
            return (
                "The budget is more than the permission has left. Lower it, or let the escrow channel "
                "continue when the permission runs out."
                if self.escrow_option() is not None
                else "The budget is more than the permission has left."
            )
        return None

    def _deposit_hint(self) -> str:
        option = self.selected()
        if not ((option is not None and option.kind is Funding.ESCROW) or self.falls_back()):
            return ""
        escrow = self.escrow_option()
        available = (escrow.available or 0) if escrow is not None else 0
        arriving = escrow.arriving if escrow is not None else 0
        deposit = self.deposit() or 0
        after = available + arriving + deposit
        symbol = self.plan.asset.symbol
        if arriving:  # a deposit already on its way: counted, not made again
            return (
                f"The channel holds {self._deposit_text(available)} {symbol} now, and a deposit of "
                f"{self._deposit_text(arriving)} {symbol} sent earlier is already on its way into it (it "
                f"is not made again): {self._deposit_text(after)} {symbol} once it is in"
                + (", with this deposit" if deposit else "")
                + ". Unused funds can be withdrawn at any time."
            )
        return (
            f"The channel holds {self._deposit_text(available)} {symbol} now; "
            f"{self._deposit_text(after)} {symbol} after the deposit. Unused funds can be "
            "withdrawn at any time."
        )

    def _fallback_hint(self) -> str | None:
        option = self.selected()
        if not self.falls_back() or option is None:
            return None
        part = self.escrow_part(self.budget() or 0)
        left = Amount(self.asset(), option.available or 0).format()
        if part:
            return (
                f"The permission pays the first {left}; the rest of the budget, "
                f"{Amount(self.plan.asset, part).format()} at "
                f"{rate_text(self.plan.asset, self.plan.price)}, comes from the escrow channel."
            )
        return (
            f"The permission has {left} left, enough for this budget. Raise the budget to keep "
            "going on the escrow channel when it runs out."
        )

    def view(self) -> ChoiceView:
        option, budget, problem = self.selected(), self.budget(), self.problem()
        return ChoiceView(
            budget_label=f"Budget ({self.asset().symbol})",
            budget_text=self.budget_text,
            deposit_text=self.deposit_text,
            deposit_enabled=self.deposit_enabled(),
            fallback_visible=option is not None
            and option.kind is Funding.ZCASH
            and self.escrow_option() is not None,
            fallback_checked=self.fallback,
            buys_seconds=self.price().seconds_for(budget) if budget else None,
            deposit_hint=self._deposit_hint(),
            fallback_hint=self._fallback_hint(),
            problem=problem,
            show_problem=problem is not None and bool(self.budget_text.strip() or self.deposit_text.strip()),
        )

    def options(self) -> StartOptions:
        """The user's choice, as the engine takes it (only once ``problem()`` is None)."""
        option = self.selected()
        assert option is not None
        return StartOptions(
            funding=option.kind,
            budget=self.budget() or 0,
            deposit=self.deposit() or 0,
            permission_id=option.permission_id,
            allow_fallback=self.falls_back(),
        )
