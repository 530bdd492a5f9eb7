"""Committed contract artifacts must match the Solidity sources."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from paygo_desktop.chain.artifacts import compute_source_hash, contracts_dir, load_artifact

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = [
    "PayGoVault",
    "PayGoRegistry",
    "TestUSDC",
    "TestToken",
    "MockAggregator",
    "ScriptedContract",
    "FeeOnTransferToken",
    "ReentrantToken",
    "ReentrantProvider",
    "ERC1271Wallet",
]


def test_source_hash_matches_sources() -> None:
    current = compute_source_hash()
    for name in ARTIFACTS:
        art = load_artifact(name)
        assert art.source_hash == current, f"{name}.json is stale: run `npm run build:contracts`"
        assert art.bytecode.startswith("0x") and len(art.bytecode) > 2
        assert art.compiler_version.startswith("0.8.")


def test_compiler_version_matches_pinned_solc() -> None:
    pkg = json.loads((REPO_ROOT / "package.json").read_text())
    pinned = pkg["devDependencies"]["solc"]
    assert load_artifact("PayGoVault").compiler_version.startswith(pinned + "+")


def test_recompile_gives_identical_artifacts() -> None:
    if not (REPO_ROOT / "node_modules" / "solc").is_dir() or shutil.which("node") is None:
        pytest.skip("node_modules/solc not installed (npm ci)")
    assert contracts_dir() == REPO_ROOT / "resources" / "contracts" or contracts_dir().is_dir()
    proc = subprocess.run(
        ["node", str(REPO_ROOT / "scripts" / "build_contracts.mjs"), "--check"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
