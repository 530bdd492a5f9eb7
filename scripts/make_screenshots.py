"""Render the README's screenshots with the app's own --screenshot option.

    python scripts/make_screenshots.py [OUT_DIR]

One fresh data directory shows the first-run wizard; a second one holds a wallet restored from the
well-known test phrase (the sandbox's first account; never use it for real money), so the pages show what
a new user with a wallet sees, with some spending generated over the last 40 days (tests/reports/
spending_data.py writes the records the session engine would) for the Activity and Home pages.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from paygo_desktop.context import AppContext
from paygo_desktop.paths import DataDir
from paygo_desktop.wallet import KdfParams, Wallet

TEST_PHRASE = "test test test test test test test test test test test junk"
SHOTS = [
    # (file, page or None, theme, needs a wallet)
    ("onboarding.png", None, "light", False),
    ("home.png", "home", "light", True),
    ("home-dark.png", "home", "dark", True),
    ("settings.png", "settings", "light", True),
    ("activity.png", "activity", "light", True),
    ("vendor.png", "vendor", "light", True),
]


def wallet_data_dir() -> Path:
    root = Path(tempfile.mkdtemp(prefix="paygo-shots-"))
    data = DataDir(root).ensure()
    ctx = AppContext.open(data)
    Wallet(data.wallet_dir, ctx.accounts, kdf=KdfParams(n=2**12)).create_from_mnemonic(
        TEST_PHRASE, "screenshot-password", label="Everyday"
    )
    ctx.activity.record("wallet", "Restored a wallet from its recovery phrase")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.reports.spending_data import generate

    generate(
        ctx.store, count=900, start=datetime.now(UTC) - timedelta(days=40), days=40, seed=4, per_session=12
    )
    ctx.close()
    return root


def main() -> int:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots")
    out.mkdir(parents=True, exist_ok=True)
    fresh = Path(tempfile.mkdtemp(prefix="paygo-shots-fresh-"))
    with_wallet = wallet_data_dir()
    for name, page, theme, needs_wallet in SHOTS:
        argv = [
            sys.executable,
            "-m",
            "paygo_desktop",
            "--data-dir",
            str(with_wallet if needs_wallet else fresh),
        ]
        argv += ["--screenshot", str(out / name), "--theme", theme]
        if page:
            argv += ["--page", page]
        subprocess.run(argv, check=True)
        print(out / name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
