"""Who bills honestly: per provider, what its receipts (and reports) said beside the app's own meter.

Each finished session leaves one verdict on its provider (``session_notes``), from the receipt the
provider signed and the meter this app ran:

* ``agreed``: the receipt checks out (its amount is what the meter and the vouchers allow);
* ``over_claimed``: the receipt asks for more than the meter measured, beyond what the rules allow;
* ``disagreed``: the receipt is signed but contradicts the meter otherwise (seconds, amount, session);
* ``forged``: the receipt is not signed by the provider's key;
* ``refused``: no receipt came, or the provider refused to settle at the meter's final voucher;
* ``reneged``: it went back on a receipt it signed: a later start found it holding our earlier voucher,
  one tick ahead, above the total the receipt settled at (``sessions.reneged``).

Zcash permissions add theirs (``zcash.cross_check``: a provider's report that disagrees with the app's
record, and an agreement for each session whose reports all agreed). ``provider_records`` gathers them
per provider for the Services page.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from paygo_desktop.money import Amount, Asset
from paygo_desktop.store.provider_notes import (
    AGREED,
    DISAGREED,
    FORGED,
    OVER_CLAIMED,
    REFUSED,
    RENEGED,
    ProviderNote,
)

WORDS = {
    AGREED: ("agreed", "agreed"),
    OVER_CLAIMED: ("over-claim", "over-claims"),
    DISAGREED: ("disagreement", "disagreements"),
    FORGED: ("forged receipt", "forged receipts"),
    REFUSED: ("refusal", "refusals"),
    RENEGED: ("broken receipt", "broken receipts"),
}


def provider_key(pay_to: str | None, url: str) -> str:
    return pay_to.lower() if pay_to else url


@dataclass(frozen=True)
class SessionEnd:
    """What a session's end knows: the provider, the meter's amount and the receipt's verdict."""

    local_id: str
    provider_url: str
    provider_name: str
    pay_to: str | None
    asset: Asset
    metered: int  # base units the app's meter measured
    receipt_amount: int | None  # what the receipt says the session cost; None: no receipt
    receipt_signed: bool  # the receipt's signature is the provider's key
    receipt_ok: bool
    problem: str | None  # the receipt check's words, or why there is none
    settle_refused: str | None = None  # the provider refused the final voucher at the meter (its words)


def session_notes(end: SessionEnd) -> list[ProviderNote]:
    """The verdicts the session's end leaves on its provider."""

    def note(verdict: str, detail: str) -> ProviderNote:
        return ProviderNote(
            provider_key=provider_key(end.pay_to, end.provider_url),
            provider_url=end.provider_url,
            provider_name=end.provider_name,
            source="session",
            ref=end.local_id,
            verdict=verdict,
            detail=detail,
            asset_symbol=end.asset.symbol,
            decimals=end.asset.decimals,
            meter_amount=end.metered,
            provider_amount=end.receipt_amount,
        )

    def fmt(units: int) -> str:
        return Amount(end.asset, units).format()

    notes: list[ProviderNote] = []
    if end.settle_refused:
        notes.append(note(REFUSED, f"Refused to settle at the meter: {end.settle_refused}"))
    if end.receipt_amount is None:
        notes.append(note(REFUSED, end.problem or "No receipt came."))
    elif not end.receipt_signed:
        notes.append(note(FORGED, "The receipt is not signed by the provider's key."))
    elif end.receipt_ok:
        notes.append(
            note(
                AGREED, f"The receipt says {fmt(end.receipt_amount)}; the meter measured {fmt(end.metered)}."
            )
        )
    elif end.receipt_amount > end.metered:
        said = f"The receipt asks {fmt(end.receipt_amount)} where the meter measured {fmt(end.metered)}."
        notes.append(note(OVER_CLAIMED, f"{said} {end.problem or ''}".strip()))
    else:
        notes.append(note(DISAGREED, end.problem or "The receipt does not check out."))
    return notes


@dataclass
class ProviderRecord:
    key: str
    name: str
    counts: Counter[str] = field(default_factory=Counter)
    last_problem: str | None = None  # the newest note that is not an agreement

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def clean(self) -> bool:
        return self.total > 0 and self.counts[AGREED] == self.total

    def text(self) -> str:
        """ "12 agreed · 1 over-claim · 1 refusal" (the worst first after the agreements)."""
        if not self.total:
            return "No sessions with this provider yet."
        parts = []
        for verdict in (AGREED, RENEGED, OVER_CLAIMED, FORGED, DISAGREED, REFUSED):
            n = self.counts[verdict]
            if n:
                one, many = WORDS[verdict]
                parts.append(f"{n} {one if n == 1 else many}")
        return " · ".join(parts)


def provider_records(notes: Iterable[ProviderNote]) -> dict[str, ProviderRecord]:
    """Per provider key (``provider_key``), its record; also under its URL, so a page that knows only the
    URL finds it."""
    notes = list(notes)
    # a provider known by its payTo on some notes and only by its URL on others is one provider
    by_url = {n.provider_url: n.provider_key for n in notes if n.provider_key != n.provider_url}
    records: dict[str, ProviderRecord] = {}
    for note in notes:
        key = by_url.get(note.provider_key, note.provider_key)
        record = records.setdefault(key, ProviderRecord(key, note.provider_name))
        record.counts[note.verdict] += 1
        record.name = note.provider_name
        if note.verdict != AGREED:
            record.last_problem = note.detail
        records.setdefault(note.provider_url, record)
    return records
