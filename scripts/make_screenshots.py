"""Render the README's screenshots with the app's own --screenshot option.

    python scripts/make_screenshots.py [OUT_DIR]

One fresh data directory shows the first-run wizard; a second one holds a wallet restored from the
well-known test phrase (the sandbox's first account; never use it for real money), so the pages show what
a new user with a wallet sees, with some spending generated over the last 40 days (tests/reports/
spending_data.py writes the records the session engine would) for the Activity and Home pages.

The Zcash page is shown with real permissions: a reference provider in Zcash ledger mode runs on loopback
while the shot is taken; one permission is bought, paid through the provider's local ledger, verified and
used for 1 h 15 min (a session on the provider's clock, metered for the app as its session engine would),
and a second one is bought and left waiting for payment, so its payment request is on screen.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from paygo_desktop.context import AppContext
from paygo_desktop.paths import DataDir
from paygo_desktop.wallet import KdfParams, Wallet

TEST_PHRASE = "test test test test test test test test test test test junk"
SCREENSHOT_PASSWORD = "screenshot-password"
SHOTS = [
    # (file, page or None, theme, data: "fresh" | "wallet" | "zcash")
    ("onboarding.png", None, "light", "fresh"),
    ("home.png", "home", "light", "wallet"),
    ("home-dark.png", "home", "dark", "wallet"),
    ("settings.png", "settings", "light", "wallet"),
    ("zcash.png", "zcash", "light", "zcash"),
    ("activity.png", "activity", "light", "wallet"),
    # vendor.png: scripts/screenshot_session.py --vendor (a connected provider after real sessions)
]


def wallet_data_dir() -> Path:
    root = Path(tempfile.mkdtemp(prefix="paygo-shots-"))
    data = DataDir(root).ensure()
    ctx = AppContext.open(data)
    Wallet(data.wallet_dir, ctx.accounts, kdf=KdfParams(n=2**12)).create_from_mnemonic(
        TEST_PHRASE, SCREENSHOT_PASSWORD, label="Everyday"
    )
    ctx.activity.record("wallet", "Restored a wallet from its recovery phrase")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.reports.spending_data import generate

    generate(
        ctx.store, count=900, start=datetime.now(UTC) - timedelta(days=40), days=40, seed=4, per_session=12
    )
    ctx.close()
    return root


class ShiftedClock:
    """The provider's clock: real time plus what the script has let pass."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@contextlib.contextmanager
def zcash_provider(root: Path, clock: ShiftedClock) -> Iterator[str]:
    """The reference provider with Zcash in ledger mode on a free loopback port (no chain needed)."""
    import uvicorn

    from paygo_desktop.provider.app import create_app
    from paygo_desktop.provider.config import ProviderConfig
    from paygo_desktop.sandbox.world import free_port

    port = free_port()
    config = ProviderConfig.model_validate(
        {
            "name": "Lofi Radio Co",
            "private_key": "0x" + "42" * 32,  # a throwaway key; nothing is paid on a chain here
            "rpc_url": f"http://127.0.0.1:{free_port()}",
            "chain_id": 31337,
            "vault": "0x5FbDB2315678afecb367f032d93F642f64180aa3",
            "assets": [
                {"symbol": "USDC", "address": "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512", "decimals": 6}
            ],
            "database": str(root / "provider.sqlite3"),
            "public_base_url": f"http://127.0.0.1:{port}",
            "zcash": {"mode": "ledger", "network": "test", "min_confirmations": 1},
        }
    )
    server = uvicorn.Server(
        uvicorn.Config(create_app(config, clock=clock), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the provider did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


async def buy_permissions(ctx: AppContext, url: str, clock: ShiftedClock) -> None:
    from paygo_desktop.protocol.client import ProviderClient
    from paygo_desktop.zcash.addresses import Network, encode_sapling
    from paygo_desktop.zcash.terms_input import parse_terms

    book = ctx.zcash_book
    book.clock = clock
    account = ctx.accounts.list()[0].address
    user = encode_sapling(Network.TEST, bytes(range(43)))  # a well-formed testnet address, no real wallet
    active = await book.create(url, account, user, parse_terms("0.05", "0.01", 30))
    async with ProviderClient(url) as client:
        await client.ledger_pay(active.pay_address, active.amount_zat, f"paygo:perm:{active.permission_id}")
        await client.ledger_mine(1)
        await book.verify(url, active.permission_id)
        token = book.token_lookup(active.permission_id)
        session = await client.start_zcash_session(active.permission_id, "lofi-radio", token)
        clock.offset += 75 * 60
        ended = await client.end_zcash_session(session.session_id, token)
    book.record_metered(active.permission_id, ended.amount_zat, ended.seconds)  # as the engine meters
    await book.refresh(url, active.permission_id)
    clock.offset += 1
    await book.create(url, account, user, parse_terms("0.02", "0.004", 14))


def zcash_data_dir(url: str, clock: ShiftedClock) -> Path:
    root = wallet_data_dir()
    ctx = AppContext.open(DataDir(root))
    wallet = Wallet(ctx.data_dir.wallet_dir, ctx.accounts, kdf=KdfParams(n=2**12))
    ctx.__dict__["wallet"] = wallet
    wallet.unlock(SCREENSHOT_PASSWORD)
    ctx.settings.providers = [url]
    ctx.settings.save()
    asyncio.run(buy_permissions(ctx, url, clock))
    wallet.lock()
    ctx.close()
    return root


def main() -> int:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots")
    out.mkdir(parents=True, exist_ok=True)
    clock = ShiftedClock()
    with zcash_provider(Path(tempfile.mkdtemp(prefix="paygo-shots-provider-")), clock) as provider_url:
        data = {
            "fresh": Path(tempfile.mkdtemp(prefix="paygo-shots-fresh-")),
            "wallet": wallet_data_dir(),
            "zcash": zcash_data_dir(provider_url, clock),
        }
        for name, page, theme, kind in SHOTS:
            argv = [sys.executable, "-m", "paygo_desktop", "--data-dir", str(data[kind])]
            argv += ["--screenshot", str(out / name), "--theme", theme]
            if page:
                argv += ["--page", page]
            subprocess.run(argv, check=True)
            print(out / name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
