"""Provider config files (TOML / JSON) and the CLI entry point's failure modes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from paygo_desktop.errors import UserFacingError
from paygo_desktop.provider.config import DEMO_CATALOG, load_config
from paygo_desktop.provider.server import main_serve

KEY = "0x" + "42" * 32
TOML = f"""
name = "Demo"
private_key = "{KEY}"
rpc_url = "http://127.0.0.1:8545"
chain_id = 31337
vault = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
database = "db/provider.sqlite3"
public_base_url = "http://127.0.0.1:8080"

[[assets]]
symbol = "USDC"
address = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"
decimals = 6
"""


def test_toml_and_json_configs(tmp_path: Path) -> None:
    p = tmp_path / "provider.toml"
    p.write_text(TOML)
    cfg = load_config(p)
    assert cfg.database == str(tmp_path / "db" / "provider.sqlite3")
    assert cfg.auth_domain == "127.0.0.1:8080" and cfg.account().key.hex().endswith("42" * 32)
    j = tmp_path / "provider.json"
    j.write_text(json.dumps(cfg.model_dump(mode="json") | {"private_key": KEY}))
    assert load_config(j).vault == cfg.vault


@pytest.mark.parametrize(
    "text",
    [
        "not toml [[[",
        TOML.replace("chain_id = 31337", 'chain_id = "x"'),
        TOML.replace(f'private_key = "{KEY}"', ""),
    ],
)
def test_bad_configs_are_user_facing(tmp_path: Path, text: str) -> None:
    p = tmp_path / "provider.toml"
    p.write_text(text)
    with pytest.raises(UserFacingError):
        load_config(p)
    assert main_serve(p, "127.0.0.1", 0) == 2
    assert main_serve(tmp_path / "missing.toml", "127.0.0.1", 0) == 2


def test_auto_release_is_every_minute_unless_set_or_turned_off(tmp_path: Path) -> None:
    p = tmp_path / "provider.toml"
    p.write_text(TOML)
    assert load_config(p).auto_release_interval == 60
    for value, ok in (("0", True), ("0.1", True), ("3600", True), ("0.01", False), ("-1", False)):
        p.write_text(TOML.replace("[[assets]]", f"auto_release_interval = {value}\n\n[[assets]]"))
        if ok:
            assert load_config(p).auto_release_interval == float(value)
        else:
            with pytest.raises(UserFacingError, match="auto_release_interval"):
                load_config(p)


def test_env_key_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = tmp_path / "provider.toml"
    p.write_text(TOML.replace(f'private_key = "{KEY}"', 'private_key_env = "PAYGO_TEST_NO_SUCH_KEY"'))
    monkeypatch.delenv("PAYGO_TEST_NO_SUCH_KEY", raising=False)
    assert main_serve(p, "127.0.0.1", 0) == 2


def test_demo_catalog_is_valid_and_varied() -> None:
    from paygo_desktop.protocol.jobs import JobOfferFields
    from paygo_desktop.protocol.models import ServiceFields

    entries = json.loads(DEMO_CATALOG.read_text())
    metered = [e for e in entries if e["type"] != "job"]
    fields = [ServiceFields.model_validate({k: v for k, v in e.items() if k != "id"}) for e in metered]
    offers = [
        JobOfferFields.model_validate({k: v for k, v in e.items() if k not in ("id", "type")})
        for e in entries
        if e["type"] == "job"
    ]
    assert [o.name for o in offers] == ["Proofread one page"]  # a fixed-price job offer
    assert len(fields) >= 12
    assert {f.type.value for f in fields} == {"video", "audio", "data", "consultation", "other"}
    assert {f.rate.unit.value for f in fields} == {"per_second", "per_minute", "per_hour", "per_request"}
    assert len({f.category for f in fields}) >= 8


def test_the_deployment_examples_config_is_valid_once_its_vault_is_filled_in(tmp_path: Path) -> None:
    """packaging/provider/provider.example.toml (docs/vendor-deployment.md) loads once the one value a
    vendor must give is there."""
    example = Path(__file__).resolve().parents[2] / "packaging" / "provider" / "provider.example.toml"
    text = example.read_text()
    assert "REPLACE" in text
    path = tmp_path / "provider.toml"
    path.write_text(text.replace("REPLACE with the PayGoVault address on that chain", "0x" + "ab" * 20))
    config = load_config(path)
    assert config.max_connections_per_ip == 0 and config.private_key_env == "PAYGO_PROVIDER_KEY"
    assert config.database == str(tmp_path / "provider.sqlite3")


@pytest.mark.parametrize(("chain_id", "gwei"), [(31337, 100), (8453, 5), (84532, 10), (1, 100), (10, 100)])
def test_the_fee_ceiling_defaults_to_the_apps_for_the_chain(tmp_path: Path, chain_id: int, gwei: int) -> None:
    """``max_fee_per_gas_gwei`` unset: the app's ceiling for the built-in network on the chain (Base 5 gwei,
    Base Sepolia 10, the local chain 100), else the custom networks' 100 gwei."""
    p = tmp_path / "provider.toml"
    p.write_text(TOML.replace("chain_id = 31337", f"chain_id = {chain_id}"))
    cfg = load_config(p)
    assert cfg.max_fee_per_gas_gwei is None and cfg.max_fee_per_gas == gwei * 10**9


@pytest.mark.parametrize(
    ("value", "wei"),
    [
        ("7", 7 * 10**9),
        ("0.5", 5 * 10**8),
        ('"0.25"', 25 * 10**7),
        ('"1.5 gwei"', 15 * 10**8),
        ("0.1", 10**8),
        ('"0.000000001"', 1),
        ("100000", 10**14),
    ],
)
def test_the_fee_ceiling_is_read_exactly_in_gwei(tmp_path: Path, value: str, wei: int) -> None:
    """A whole number, a TOML decimal (its text, read as a Decimal: 0.1 is 100,000,000 wei, not a float's
    neighbour) or a string; the JSON round trip keeps it."""
    p = tmp_path / "provider.toml"
    p.write_text(TOML.replace("chain_id = 31337", f"chain_id = 8453\nmax_fee_per_gas_gwei = {value}"))
    cfg = load_config(p)
    assert cfg.max_fee_per_gas == wei and isinstance(cfg.max_fee_per_gas, int)
    j = tmp_path / "provider.json"
    j.write_text(json.dumps(cfg.model_dump(mode="json") | {"private_key": KEY}))
    assert load_config(j).max_fee_per_gas == wei


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("0", "above 0"),
        ("-1", "not a number of gwei"),
        ("100001", "at most 100000 gwei"),
        ('"abc"', "not a number of gwei"),
        ("true", "a number of gwei"),
        ('"0.0000000001"', "at most 9 decimal places"),
        ("nan", "a number of gwei"),
        ("inf", "a number of gwei"),
        ("[5]", "a number of gwei"),
    ],
)
def test_a_fee_ceiling_that_cannot_be_used_is_refused_in_words(tmp_path: Path, value: str, said: str) -> None:
    p = tmp_path / "provider.toml"
    p.write_text(TOML.replace("chain_id = 31337", f"chain_id = 31337\nmax_fee_per_gas_gwei = {value}"))
    with pytest.raises(UserFacingError, match="max_fee_per_gas_gwei") as refused:
        load_config(p)
    assert said in str(refused.value)
