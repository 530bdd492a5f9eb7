"""Load compiled contract artifacts (resources/contracts/*.json written by scripts/build_contracts.mjs)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from paygo_desktop.resource_files import resource_path

#: artifacts of test-only contracts live in this sub-directory
TESTING_SUBDIR = "testing"


def contracts_dir() -> Path:
    """resources/contracts, inside the installed package or in the repository."""
    return resource_path("contracts")


@dataclass(frozen=True)
class Artifact:
    name: str
    abi: list[dict[str, Any]]
    bytecode: str
    deployed_bytecode: str
    compiler_version: str
    source_hash: str
    source_name: str
    # where each immutable's value sits in deployed_bytecode: name -> ((byte offset, length), ...)
    immutables: dict[str, tuple[tuple[int, int], ...]] = field(default_factory=dict)


@cache
def load_artifact(name: str) -> Artifact:
    """Load ``<name>.json``; ``name`` may be ``"testing/X"`` (plain names also look in testing/)."""
    base = contracts_dir()
    candidates = [base / f"{name}.json", base / TESTING_SUBDIR / f"{name}.json"]
    for path in candidates:
        if path.is_file():
            data = json.loads(path.read_text(encoding="utf-8"))
            return Artifact(
                name=data["contractName"],
                abi=data["abi"],
                bytecode=data["bytecode"],
                deployed_bytecode=data["deployedBytecode"],
                compiler_version=data["compilerVersion"],
                source_hash=data["sourceHash"],
                source_name=data["sourceName"],
                immutables={
                    var: tuple((int(p["start"]), int(p["length"])) for p in places)
                    for var, places in (data.get("immutables") or {}).items()
                },
            )
    raise FileNotFoundError(f"no artifact {name!r} in {base}")


def compute_source_hash(directory: Path | None = None) -> str:
    """sha256 over the sorted .sol files, each as "<posix path>\\0<content>\\0" (as the build script)."""
    root = directory or contracts_dir()
    digest = hashlib.sha256()
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.sol"))
    for rel in files:
        digest.update(rel.encode())
        digest.update(b"\0")
        digest.update((root / rel).read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()
