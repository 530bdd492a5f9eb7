"""The provider config's ``[zcash]`` section (and the older ``zcash = true|false`` flag)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from paygo_desktop.provider.config import ConfigError, load_config
from tests.provider.test_config import TOML


def _load(tmp_path: Path, table: str = "", top: str = "") -> Any:
    """TOML with ``top`` keys first (before any table) and ``table`` appended after [[assets]]."""
    p = tmp_path / "provider.toml"
    p.write_text(top + TOML + table)
    return load_config(p)


def test_zcash_flag_and_section(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = _load(tmp_path, "")
    assert cfg.zcash.enabled is False
    cfg = _load(tmp_path, top="zcash = true\n")
    assert cfg.zcash.enabled and cfg.zcash.mode == "ledger" and cfg.zcash.network == "test"
    cfg = _load(
        tmp_path,
        '\n[zcash]\nmode = "zallet"\nnetwork = "main"\nrpc_url = "http://127.0.0.1:28232"\n'
        'rpc_user = "u"\nrpc_password_env = "ZALLET_PW"\naccount = "3"\nmin_confirmations = 3\n',
    )
    z = cfg.zcash
    assert z.enabled and z.mode == "zallet" and z.min_confirmations == 3
    with pytest.raises(ConfigError, match="ZALLET_PW"):
        z.rpc_secret()
    monkeypatch.setenv("ZALLET_PW", "pw")
    assert z.rpc_secret() == "pw"


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        ('\n[zcash]\nmode = "zallet"\n', "rpc_url"),
        ('\n[zcash]\nnetwork = "main"\n', "ledger"),
        ('\n[zcash]\nmode = "cloud"\n', "mode"),
        ("\n[zcash]\nmin_confirmations = 0\n", "min_confirmations"),
        ("\n[zcash]\nsurprise = 1\n", "surprise"),
    ],
)
def test_bad_zcash_section(tmp_path: Path, extra: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        _load(tmp_path, extra)
