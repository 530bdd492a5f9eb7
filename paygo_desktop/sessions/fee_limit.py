"""The most a deposit's network fees may cost, as the user agreed to it before anything was signed (the
headless ``session start --deposit`` asks first): each step is signed at no more per unit of gas than
was shown, and the steps together at no more than the total shown."""

from __future__ import annotations

from dataclasses import dataclass

from paygo_desktop.chain.transactions import FeeQuote


@dataclass(frozen=True)
class FeeLimit:
    """Wei: the most per unit of gas, and the most all of a deposit's transactions may cost together."""

    max_fee_per_gas: int
    total: int


def within(quote: FeeQuote, limit: FeeLimit) -> FeeQuote:
    """``quote`` asking no more per unit of gas than ``limit`` allows (a base fee that rose since the
    question makes the transaction wait, never cost more than agreed)."""
    per_gas = min(quote.max_fee_per_gas, limit.max_fee_per_gas)
    return FeeQuote(
        gas_limit=quote.gas_limit,
        base_fee_per_gas=quote.base_fee_per_gas,
        max_fee_per_gas=per_gas,
        max_priority_fee_per_gas=min(quote.max_priority_fee_per_gas, per_gas),
    )
