"""Interop with foundry's `cast`, the real tool (npm @foundry-rs/cast-linux-amd64, installed by `npm ci`).

A keystore that `cast wallet new` made imports into the wallet; a keystore the wallet exports opens in cast.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from wallet_test_support import PASSWORD

from paygo_desktop.wallet import Wallet

CAST = Path(__file__).resolve().parents[2] / "node_modules" / ".bin" / "cast"
pytestmark = pytest.mark.skipif(
    not CAST.exists() and not os.environ.get("CI"), reason="cast not installed (npm ci)"
)


def cast(*args: str) -> str:
    result = subprocess.run([str(CAST), *args], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_a_keystore_made_by_cast_imports(wallet: Wallet, tmp_path: Path) -> None:
    folder = tmp_path / "cast-keys"
    folder.mkdir()
    cast("wallet", "new", str(folder), "--unsafe-password", "cast-password")
    [made] = list(folder.iterdir())
    expected = cast("wallet", "address", "--keystore", str(made), "--password", "cast-password")
    record = wallet.import_keystore(made.read_text(), "cast-password", PASSWORD, "From cast")
    assert record.address == expected


def test_a_keystore_the_wallet_exports_opens_in_cast(hd_wallet: Wallet, tmp_path: Path) -> None:
    address = hd_wallet.accounts()[0].address
    exported = tmp_path / "exported.json"
    exported.write_text(hd_wallet.export_keystore(address, PASSWORD))
    assert cast("wallet", "address", "--keystore", str(exported), "--password", PASSWORD) == address
