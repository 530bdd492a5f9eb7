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
    assert _load(tmp_path, top="zcash = false\n").zcash.enabled is False
    cfg = _load(tmp_path, '\n[zcash]\nmode = "ledger"\n')  # asked for by name, as the sandbox does
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
        ('\n[zcash]\nmode = "ledger"\nnetwork = "main"\n', "ledger"),
        ('\n[zcash]\nmode = "cloud"\n', "mode"),
        ("\n[zcash]\nmin_confirmations = 0\n", "min_confirmations"),
        ("\n[zcash]\nsurprise = 1\n", "surprise"),
    ],
)
def test_bad_zcash_section(tmp_path: Path, extra: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        _load(tmp_path, extra)


@pytest.mark.parametrize(
    ("top", "table"),
    [
        ("zcash = true\n", ""),  # it used to mean the ledger
        ("", "\n[zcash]\n"),
        ("", '\n[zcash]\nnetwork = "test"\nmin_confirmations = 3\n'),
    ],
)
def test_the_ledger_runs_only_where_a_config_names_it(tmp_path: Path, top: str, table: str) -> None:
    """A config meant for real use (no explicit ``mode = "ledger"``) never gets the pretend wallet, whose
    open pay and mine routes would let anyone "pay" for a permission: it is refused, saying why."""
    with pytest.raises(ConfigError) as refused:
        _load(tmp_path, table, top)
    text = str(refused.value)
    assert 'mode = "zallet"' in text and "anyone" in text and 'mode = "ledger"' in text
    assert "sandbox" in text


def test_provider_serve_refuses_a_config_without_a_zcash_mode(tmp_path: Path) -> None:
    import subprocess
    import sys

    config = tmp_path / "provider.toml"
    config.write_text("zcash = true\n" + TOML)
    command = ["-m", "paygo_desktop", "--data-dir", str(tmp_path), "provider", "serve", "--config"]
    result = subprocess.run(
        [sys.executable, *command, str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert 'needs mode = "zallet"' in result.stderr and "lets anyone" in result.stderr
