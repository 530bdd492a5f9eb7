"""The real reference provider with Zcash in ledger mode, over loopback, on a test-controlled clock.

No chain is needed for Zcash permissions (the provider keeps trying to reach its RPC in the background;
the Zcash routes do not wait for it). Payments are made through the provider's local ledger with
``ProviderClient.ledger_pay`` and ``ledger_mine``, as a person's Zcash wallet would pay on a real chain.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from paygo_desktop.provider.config import ProviderConfig
from paygo_desktop.zcash.addresses import AddressKind, Network, encode_sapling, encode_transparent
from tests.provider.conftest import FakeClock, _free_port, run_server

MIN_CONF = 2
USER_Z = encode_sapling(Network.TEST, bytes(range(43)))
USER_T = encode_transparent(AddressKind.P2PKH, Network.TEST, bytes(range(20)))
USER_MAIN = encode_sapling(Network.MAIN, bytes(range(43)))
SERVICE = "lofi-radio"


@dataclass
class ZcashProvider:
    url: str
    clock: FakeClock
    name: str
    app: Any = None  # the provider's FastAPI app (``app.state.zcash``: its permissions and verifier)


@pytest.fixture
def zcash_provider(tmp_path: Path) -> Iterator[ZcashProvider]:
    with zcash_provider_running(
        tmp_path, {"mode": "ledger", "network": "test", "min_confirmations": MIN_CONF}
    ) as p:
        yield p


@contextlib.contextmanager
def zcash_provider_running(tmp_path: Path, zcash: dict[str, Any]) -> Iterator[ZcashProvider]:
    """The reference provider with the ``[zcash]`` section ``zcash`` (ledger or Zallet mode)."""
    from paygo_desktop.provider.app import create_app

    port = _free_port()
    config = ProviderConfig.model_validate(
        {
            "name": "Zcash test provider",
            "private_key": "0x" + "42" * 32,
            "rpc_url": f"http://127.0.0.1:{_free_port()}",  # nobody there: Zcash does not need the chain
            "chain_id": 31337,
            "vault": "0x5FbDB2315678afecb367f032d93F642f64180aa3",
            "assets": [
                {"symbol": "USDC", "address": "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512", "decimals": 6}
            ],
            "database": str(tmp_path / "provider.sqlite3"),
            "public_base_url": f"http://127.0.0.1:{port}",
            "expiry_check_interval": 0.1,
            "overload_delay": 30,  # a busy test machine: no shedding (tests/provider/test_overload.py)
            "zcash": zcash,
        }
    )
    clock = FakeClock()
    app = create_app(config, clock=clock)
    server, thread = run_server(app, port)
    try:
        yield ZcashProvider(f"http://127.0.0.1:{port}", clock, config.name, app)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
