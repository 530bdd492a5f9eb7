"""``paygo-desktop x402 proxy|get`` on a terminal: a payment to an ask-first site is asked about on stderr;
only "y"/"yes" typed after the question pays, and no answer in time declines."""

from __future__ import annotations

import asyncio
import io
import os
from typing import Any

import pytest

from paygo_desktop.commands.terminal_ask import TerminalAsk
from paygo_desktop.money import Asset
from paygo_desktop.x402.limits import Quote

QUOTE = Quote(
    "https://api.example.com",
    "https://api.example.com/v1/quote",
    "exact",
    "eip155:31337",
    Asset("USDC", 6, "0x" + "11" * 20),
    "0x" + "22" * 20,
    20_000,
    "POST",
)


@pytest.mark.parametrize(("typed", "pays"), [("y\n", True), ("yes\n", True), ("n\n", False), ("\n", False)])
def test_the_terminal_is_asked(monkeypatch: Any, capsys: Any, typed: str, pays: bool) -> None:
    read, write = os.pipe()
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.FileIO(read, "r")))

    async def ask() -> bool:
        asking = asyncio.ensure_future(TerminalAsk(seconds=10)(QUOTE))
        await asyncio.sleep(0.2)  # the question is out; now the user types
        os.write(write, typed.encode())
        return await asking

    try:
        assert asyncio.run(ask()) is pays
    finally:
        os.close(write)
    question = capsys.readouterr().err
    assert "Pay 0.02 USDC to https://api.example.com for POST https://api.example.com/v1/quote?" in question


def test_no_answer_in_time_declines(monkeypatch: Any, capsys: Any) -> None:
    read, write = os.pipe()
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.FileIO(read, "r")))
    try:
        assert asyncio.run(TerminalAsk(seconds=0.3)(QUOTE)) is False
    finally:
        os.close(write)
    assert "(no answer: declined)" in capsys.readouterr().err
