"""The network in use is read once and kept: the GUI asks for it on every repaint of some views. A switch,
a new key in the settings, or ``invalidate_network`` (the sandbox started, a custom network saved again)
reads it again."""

from __future__ import annotations

from pathlib import Path

import pytest

from paygo_desktop.chain.canonical import VAULT
from paygo_desktop.context import AppContext
from paygo_desktop.networks import custom_network
from paygo_desktop.paths import DataDir


def test_the_network_is_read_once_until_it_changes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = AppContext.open(DataDir(tmp_path / "data"))
    try:
        custom = custom_network("Test chain", "http://127.0.0.1:9", 31337)
        ctx.networks.save_custom(custom)
        reads: list[str] = []
        get = ctx.networks.get
        monkeypatch.setattr(ctx.networks, "get", lambda key: reads.append(key) or get(key))
        states: list[Path] = []
        monkeypatch.setattr(
            "paygo_desktop.sandbox.state.read_state", lambda folder: states.append(folder) or None
        )
        assert ctx.network.key == "sandbox" and [ctx.network for _ in range(50)]
        # no sandbox running, nothing deployed from here: the canonical vault (checked before any use)
        assert ctx.provider_urls() == [] and ctx.vault_address(ctx.network) == VAULT.address
        assert reads == ["sandbox"] and len(states) == 1  # one query and one file read for all of that
        assert ctx.use_network(custom.key).name == "Test chain" and reads == ["sandbox", custom.key]
        assert ctx.settings.network == custom.key and ctx.network.rpc_url == "http://127.0.0.1:9"
        ctx.networks.save_custom(custom_network("Test chain", "http://127.0.0.1:10", 31337))
        assert ctx.network.rpc_url == "http://127.0.0.1:9"  # kept until told
        ctx.invalidate_network()
        assert ctx.network.rpc_url == "http://127.0.0.1:10" and len(reads) == 3
        ctx.settings.network = "sandbox"  # set directly: a new key is read as well
        assert ctx.network.key == "sandbox" and len(reads) == 4 and len(states) == 2
    finally:
        ctx.close()
