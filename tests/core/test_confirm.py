"""Headless commands ask before they send: without a terminal and without ``--yes`` nobody can be asked,
so they refuse at once, before anything is signed."""

from __future__ import annotations

import io

import pytest

from paygo_desktop.commands.confirm import confirm_fee, require_terminal
from paygo_desktop.errors import UserFacingError


def test_a_fee_is_not_agreed_to_without_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))  # a pipe saying yes is no one at a terminal
    with pytest.raises(UserFacingError, match="add --yes"):
        confirm_fee("Release the job", 10**12, 2 * 10**12, assume_yes=False)
    confirm_fee("Release the job", 10**12, 2 * 10**12, assume_yes=True)  # --yes: agreed


def test_a_deposit_is_refused_at_once_without_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    with pytest.raises(UserFacingError, match="Not depositing without confirmation"):
        require_terminal(False, "depositing")
    require_terminal(True, "depositing")
