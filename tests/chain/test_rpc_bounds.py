"""A chain node is another machine too: a custom network's RPC that answers with ~70,000 nested brackets
(140 KB) must give a clear error, not kill the app. web3's own decoder handed it to ``json.loads``, which
overflows the C stack once eth-account has raised the recursion limit: SIGSEGV. Run in a subprocess so that
such a death fails the test instead of killing pytest."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.sessions.test_nested_json import TIMEOUT, _env, nested_provider  # noqa: F401 - the fixture

REPO = Path(__file__).resolve().parents[2]


def test_a_node_answering_with_deep_nesting_is_refused_and_the_app_lives(nested_provider: str) -> None:  # noqa: F811
    program = (
        "import asyncio\n"
        "from paygo_desktop.money import ETH\n"
        "from paygo_desktop.reports.dashboard import chain_balances\n"
        "async def main():\n"
        "    try:\n"
        f"        await chain_balances(rpc_url={nested_provider!r}, "
        "account='0x' + '11' * 20, native=ETH, tokens=[], vault_address=None, channels={})\n"
        "    except Exception as exc:\n"
        "        print(type(exc).__name__, exc)\n"
        "asyncio.run(main())\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=TIMEOUT, env=_env()
    )
    assert result.returncode == 0, f"exit {result.returncode}: {result.stderr[-1500:]}"
    assert result.stdout.startswith("BadResponseFormat The chain node's answer was refused: nested more than")
