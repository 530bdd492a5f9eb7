"""What the client sees of one job at one chain time: its state, what it can do now, and the reminder to
show before a deadline passes. Pure: ``jobs.service`` reads the inputs (the store, the chain, the
provider's answer)."""

from __future__ import annotations

from dataclasses import dataclass

from paygo_desktop.chain.jobs import JobOnChain, JobStatus
from paygo_desktop.jobs.records import JobRecord
from paygo_desktop.money import Amount
from paygo_desktop.protocol.jobs import JobState, derive_state

#: How long before a deadline (or the end of a review window) the reminder shows.
REMINDER_LEAD = 24 * 3600


@dataclass(frozen=True)
class Reminder:
    """A deadline the user should act before (or may act on now): ``at`` in chain time."""

    kind: str  # "fund", "delivery-due", "refund-ready", "review-ends", "review-over"
    at: int
    message: str


@dataclass(frozen=True)
class JobView:
    record: JobRecord
    on_chain: JobOnChain
    chain_time: int
    state: JobState
    actions: tuple[str, ...]  # among: fund, approve, refund, cancel, release, download
    reminder: Reminder | None

    @property
    def job_id(self) -> str:
        return self.record.job_id

    @property
    def price(self) -> Amount:
        return Amount(self.record.asset, self.record.job.price)

    @property
    def review_ends_at(self) -> int | None:
        return self.on_chain.review_ends_at(self.record.job)


def _when(seconds: int) -> str:
    if seconds >= 2 * 86400:
        return f"{seconds // 86400} days"
    if seconds >= 2 * 3600:
        return f"{seconds // 3600} hours"
    if seconds >= 120:
        return f"{seconds // 60} minutes"
    return f"{max(seconds, 0)} seconds"


def job_view(record: JobRecord, on_chain: JobOnChain, now: int, *, accepted: bool = False) -> JobView:
    """The job as the client sees it at chain time ``now``. ``accepted``: the provider said so (the chain
    does not know); a declined job is one whose provider Cancel the app holds."""
    job = record.job
    declined = record.cancel_signature is not None
    state = derive_state(
        on_chain.status, declined=declined, accepted=accepted, deadline=job.deadline, now=now
    )
    status = on_chain.status
    actions: list[str] = []
    reminder: Reminder | None = None
    if status is JobStatus.NONE and now < job.deadline and not declined:
        actions.append("fund")
        reminder = Reminder(
            "fund", job.deadline, f"Fund it to lock the price: it is due in {_when(job.deadline - now)}."
        )
    if status is JobStatus.FUNDED:
        actions.append("approve")
        if now > job.deadline:
            actions.append("refund")
            reminder = Reminder(
                "refund-ready", job.deadline, "The deadline passed with nothing delivered: take the refund."
            )
        elif job.deadline - now <= REMINDER_LEAD:
            reminder = Reminder(
                "delivery-due",
                job.deadline,
                f"Due in {_when(job.deadline - now)}. With nothing delivered by then, you can take the "
                "refund.",
            )
    if status is JobStatus.DELIVERED:
        actions += ["download", "approve"]
        ends = on_chain.review_ends_at(job)
        assert ends is not None
        if now > ends:
            actions.append("release")
            reminder = Reminder(
                "review-over", ends, "The review window is over: the provider can take the price now."
            )
        elif ends - now <= REMINDER_LEAD:
            reminder = Reminder(
                "review-ends",
                ends,
                f"The review window ends in {_when(ends - now)}: approve it, or ask the provider for a "
                "cancellation, before then. After it the provider can take the price without your approval.",
            )
    if status in (JobStatus.FUNDED, JobStatus.DELIVERED) and declined and on_chain.delivery == bytes(32):
        actions.append("cancel")
    return JobView(record, on_chain, now, state, tuple(actions), reminder)
