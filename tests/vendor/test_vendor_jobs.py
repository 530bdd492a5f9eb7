"""The vendor's side of fixed-price jobs (vendor/jobs.py), the parts that need no provider: which answers a
job's state allows, and the bad input refused before anything is sent (the whole flow against the real
provider and anvil is tests/gui/test_vendor_jobs.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from paygo_desktop.protocol.jobs import JobState, review_window_text
from paygo_desktop.vendor import jobs as vj


@pytest.mark.parametrize(
    ("state", "actions"),
    [
        (JobState.requested, ("decline",)),
        (JobState.funded, ("accept", "decline")),
        (JobState.accepted, ("deliver", "decline")),
        (JobState.delivered, ()),
        (JobState.approved, ()),
        (JobState.released, ()),
        (JobState.refunded, ()),
        (JobState.cancelled, ()),
        (JobState.declined, ()),
        (JobState.expired, ()),
    ],
)
def test_the_answers_each_state_allows(state: JobState, actions: tuple[str, ...]) -> None:
    info: Any = SimpleNamespace(state=state, review_ends_at=None, chain_time=1000)
    assert vj.vendor_actions(info) == actions
    assert vj.STATE_TEXT[state.value]


def test_a_delivery_left_unapproved_past_its_review_window_can_be_released() -> None:
    def actions(chain_time: int) -> tuple[str, ...]:
        info: Any = SimpleNamespace(state=JobState.delivered, review_ends_at=1000, chain_time=chain_time)
        return vj.vendor_actions(info)

    assert actions(999) == actions(1000) == ()  # the window's last second: the contract refuses it
    assert actions(1001) == ("release",)


def test_review_window_text() -> None:
    assert [review_window_text(s) for s in (0, 45, 60, 7200, 86400, 3 * 86400)] == [
        "none",
        "45 s",
        "1 minute",
        "2 hours",
        "1 day",
        "3 days",
    ]


def test_a_link_needs_a_sha256_and_an_http_address() -> None:
    digest = "ab" * 32
    assert vj.parse_sha256("0x" + digest.upper()) == bytes.fromhex(digest)
    assert vj.parse_sha256(f"  {digest} ") == bytes.fromhex(digest)
    for bad in ("", "0x1234", "zz" * 32, "ab" * 33):
        with pytest.raises(vj.VendorJobsError, match="64 hexadecimal"):
            vj.parse_sha256(bad)
    for url in ("ftp://example.com/f", "https://example.com/a file"):
        with pytest.raises(vj.VendorJobsError, match="http"):
            asyncio.run(vj.deliver_link(None, None, "0x" + "00" * 32, url, digest))


def test_a_file_is_refused_before_anything_is_sent(tmp_path: Path) -> None:
    """No client is given: each of these must fail before the provider would be asked."""
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    with pytest.raises(vj.VendorJobsError, match="is empty"):
        asyncio.run(vj.deliver_file(None, None, "0x" + "00" * 32, empty))
    long_name = tmp_path / ("x" * 130 + ".txt")
    long_name.write_bytes(b"x")
    with pytest.raises(vj.VendorJobsError, match="rename the file"):
        asyncio.run(vj.deliver_file(None, None, "0x" + "00" * 32, long_name))
    with pytest.raises(vj.VendorJobsError, match="Could not read"):
        asyncio.run(vj.deliver_file(None, None, "0x" + "00" * 32, tmp_path / "missing.txt"))
