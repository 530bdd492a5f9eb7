"""Constants and helpers shared by the wallet tests."""

from __future__ import annotations

from pathlib import Path

from paygo_desktop.wallet import KdfParams

# scrypt at n=2**12 takes ~5 ms instead of ~0.8 s; one test runs the production cost end to end.
CHEAP_KDF = KdfParams(n=2**12)
TEST_MNEMONIC = "test test test test test test test test test test test junk"
TEST_ADDRESS_0 = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
TEST_ADDRESS_1 = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
PASSWORD = "correct horse battery"
# anvil's account 2: 0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC
OTHER_KEY = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a"
OTHER_ADDRESS = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "keystores"


def snapshot(directory: Path) -> dict[str, bytes]:
    """Every file below ``directory`` and its bytes."""
    return {
        str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()
    }
