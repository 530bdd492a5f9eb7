"""Which sandbox world a start continues: the chain kept from the last run, or a new one.

anvil keeps its whole chain in ``<sandbox>/chain-state.json`` (``--state``: loaded at start, written at
exit and every ``node.STATE_INTERVAL`` seconds). ``world.json`` names the world that chain holds: its genesis
block, the contracts deployed in it and the accounts funded there. A start whose node answers with that
genesis and still holds those contracts continues the world: nothing is deployed or funded twice, the
provider keeps its database. Anything else (the embedded node, which keeps nothing on disk; a state file
lost or unreadable) is a new world, and says why, so that the app never mixes two.
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from paygo_desktop.fileio import atomic_write_text
from paygo_desktop.sandbox.node import rpc


@dataclass(frozen=True)
class World:
    genesis: str  # the hash of block 0
    vault: str
    usdc: str
    node: str  # anvil | embedded
    funded: tuple[str, ...] = field(default=())
    created_at: float = 0.0
    tokens: dict[str, str] = field(default_factory=dict)  # the other test tokens: symbol -> address
    feeds: dict[str, str] = field(default_factory=dict)  # price feeds: symbol or currency -> address


def chain_state_file(sandbox_dir: Path) -> Path:
    return sandbox_dir / "chain-state.json"


def world_file(sandbox_dir: Path) -> Path:
    return sandbox_dir / "world.json"


def read_world(sandbox_dir: Path) -> World | None:
    try:
        data = json.loads(world_file(sandbox_dir).read_text("utf-8"))
        return World(**{**data, "funded": tuple(data.get("funded", ()))})
    except (OSError, ValueError, TypeError):
        return None


def write_world(sandbox_dir: Path, world: World) -> None:
    data = {**asdict(world), "funded": list(world.funded)}
    atomic_write_text(world_file(sandbox_dir), json.dumps(data, indent=2) + "\n")


def genesis_hash(rpc_url: str) -> str:
    return str(rpc(rpc_url, "eth_getBlockByNumber", ["0x0", False])["hash"]).lower()


def kept_world(sandbox_dir: Path, rpc_url: str, node: str) -> World | None:
    """The recorded world, if the running node holds it (same genesis, its contracts in place)."""
    world = read_world(sandbox_dir)
    if world is None or world.node != node or genesis_hash(rpc_url) != world.genesis:
        return None
    for address in (world.vault, world.usdc):
        if rpc(rpc_url, "eth_getCode", [address, "latest"]) in (None, "0x", "0x0"):
            return None
    return world


def new_world(rpc_url: str, node: str, vault: str, usdc: str) -> World:
    return World(genesis=genesis_hash(rpc_url), vault=vault, usdc=usdc, node=node, created_at=time.time())


def set_aside(path: Path) -> Path:
    """Move an unreadable state file out of the way (kept, for a look); returns where it went."""
    target = path.with_name(f"{path.name}.unreadable-{int(time.time())}")
    with contextlib.suppress(FileNotFoundError):
        path.replace(target)
    return target
