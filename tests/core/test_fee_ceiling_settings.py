"""A network's fee ceiling as the user sets it: typed in gwei (Decimal, never a float), checked, kept in the
settings file by network key, read back, and a corrupt or absurd value in the file refused in words with the
network's own ceiling used; the command line's ``network fee-ceiling``; every service's transaction manager
built for its network."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import paygo_desktop
from paygo_desktop.cli import main
from paygo_desktop.context import AppContext
from paygo_desktop.networks import (
    BASE,
    BASE_SEPOLIA,
    CUSTOM_FEE_CEILING,
    GWEI,
    SANDBOX,
    custom_network,
    parse_gwei,
)
from paygo_desktop.paths import DataDir
from paygo_desktop.settings import MAX_FEE_CEILING_WEI, FeeCeilingError, Settings


@pytest.mark.parametrize(
    ("typed", "wei"),
    [
        ("5", 5 * GWEI),
        ("0.05", 5 * 10**7),
        (" 1,000 gwei ", 1000 * GWEI),
        ("0.000000001", 1),
        ("100000", MAX_FEE_CEILING_WEI),
    ],
)
def test_a_ceiling_typed_in_gwei_is_read_exactly(typed, wei):
    assert parse_gwei(typed) == wei
    assert type(parse_gwei(typed)) is int


@pytest.mark.parametrize(
    ("typed", "words"),
    [
        ("", "Enter the fee ceiling in gwei"),
        ("0", "above 0"),
        ("-5", "not a number of gwei"),
        ("1e3", "not a number of gwei"),
        ("nan", "not a number of gwei"),
        ("five", "not a number of gwei"),
        ("1.2.3", "not a number of gwei"),
        ("0.0000000001", "9 decimal places"),
        ("100000.000000001", "at most 100000 gwei"),
        ("5" * 41, "not a number of gwei"),
    ],
)
def test_a_ceiling_that_is_no_whole_number_of_wei_or_out_of_bounds_is_refused(typed, words):
    with pytest.raises(FeeCeilingError, match=words):
        parse_gwei(typed)


def test_the_ceilings_are_each_networks_own():
    assert BASE.max_fee_per_gas_ceiling == 5 * GWEI
    assert BASE_SEPOLIA.max_fee_per_gas_ceiling == 10 * GWEI
    assert SANDBOX.max_fee_per_gas_ceiling == 100 * GWEI
    assert custom_network("Mine", "https://rpc.example", 99).max_fee_per_gas_ceiling == CUSTOM_FEE_CEILING


def test_a_ceiling_set_for_a_network_survives_a_save_and_is_used_by_the_next_start(tmp_path):
    data_dir = DataDir(tmp_path / "data")
    ctx = AppContext.open(data_dir)
    mine = custom_network("Mine", "https://rpc.example", 99)
    ctx.networks.save_custom(mine)
    ctx.set_fee_ceiling(BASE.key, parse_gwei("2.5"))
    ctx.set_fee_ceiling(mine.key, parse_gwei("400"))
    ctx.settings.save()
    ctx.close()
    assert json.loads(data_dir.settings_file.read_text())["fee_ceilings"] == {
        "base": 2_500_000_000,
        "custom-mine": 400 * GWEI,
    }
    ctx = AppContext.open(data_dir)
    try:
        assert ctx.settings.refused == []
        assert ctx.find_network(BASE.key).max_fee_per_gas_ceiling == 2_500_000_000
        assert ctx.find_network(mine.key).max_fee_per_gas_ceiling == 400 * GWEI
        assert ctx.find_network(BASE_SEPOLIA.key).max_fee_per_gas_ceiling == 10 * GWEI  # its own
    finally:
        ctx.close()


@pytest.mark.parametrize(
    ("found", "words"),
    [
        (10**30, "at most 100000 gwei"),  # absurd
        (0, "above 0 gwei"),
        (-5, "above 0 gwei"),
        (5.5, "whole number of wei"),  # a float: never in a money path
        ("5", "whole number of wei"),
        (True, "whole number of wei"),
        (None, "whole number of wei"),
    ],
)
def test_a_corrupt_or_absurd_ceiling_in_the_file_is_refused_in_words_and_the_networks_own_used(
    tmp_path, found, words
):
    data_dir = DataDir(tmp_path / "data").ensure()
    data_dir.settings_file.write_text(
        json.dumps(
            {"network": "base", "theme": "dark", "fee_ceilings": {"base": found, "base-sepolia": 20 * GWEI}}
        )
    )
    ctx = AppContext.open(data_dir)
    try:
        assert ctx.network.max_fee_per_gas_ceiling == BASE.max_fee_per_gas_ceiling  # its own
        assert ctx.find_network(BASE_SEPOLIA.key).max_fee_per_gas_ceiling == 20 * GWEI  # the good one kept
        assert ctx.settings.theme == "dark"  # the rest of the file is read as it was
        [said] = ctx.settings.refused
        assert "fee ceiling set for the network “base”" in said and words in said
        assert "network's own fee ceiling is used" in said
        ctx.settings.save()  # the refused value is not written back
        assert json.loads(data_dir.settings_file.read_text())["fee_ceilings"] == {"base-sepolia": 20 * GWEI}
    finally:
        ctx.close()


def test_fee_ceilings_that_are_not_a_mapping_are_refused_whole(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"fee_ceilings": [5 * GWEI]}))
    settings = Settings.load(path)
    assert settings.fee_ceilings == {}
    assert settings.refused and "every network uses its own fee ceiling" in settings.refused[0]


def test_a_ceiling_set_in_code_is_checked_too(tmp_path):
    settings = Settings.load(tmp_path / "settings.json")
    for wrong in (0, MAX_FEE_CEILING_WEI + 1, 1.5):
        with pytest.raises(FeeCeilingError):
            settings.set_fee_ceiling("base", wrong)  # type: ignore[arg-type]
    assert settings.fee_ceilings == {}


def test_the_command_line_shows_sets_and_resets_a_networks_ceiling(tmp_path, capsys):
    data = str(tmp_path / "data")
    assert main(["--data-dir", data, "network", "fee-ceiling", "base", "0.5"]) == 0
    assert "at most 0.5 gwei" in capsys.readouterr().out
    assert main(["--data-dir", data, "network", "list"]) == 0
    listed = capsys.readouterr().out
    assert re.search(r"base\tchain 8453\tBase\tfee ceiling 0.5 gwei \(set by you\)", listed)
    assert re.search(r"base-sepolia\tchain 84532\tBase Sepolia\tfee ceiling 10 gwei\n", listed)
    assert main(["--data-dir", data, "network", "fee-ceiling", "base", "1e9"]) == 2
    assert "is not a number of gwei" in capsys.readouterr().err
    assert main(["--data-dir", data, "network", "fee-ceiling", "nowhere", "5"]) == 2
    assert "No network called 'nowhere'" in capsys.readouterr().err
    assert main(["--data-dir", data, "network", "fee-ceiling", "base", "--default"]) == 0
    assert main(["--data-dir", data, "network", "fee-ceiling", "base"]) == 0
    assert "fee ceiling 5 gwei per unit of gas (its own)" in capsys.readouterr().out


def test_every_service_builds_its_transaction_manager_for_its_network():
    """A manager built with ``TransactionManager(...)`` holds to the custom networks' ceiling whatever network
    it sends on (Base's 5 gwei forgotten): the app's code builds it with ``for_network`` only."""
    root = Path(paygo_desktop.__file__).parent
    direct = sorted(
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if path.name != "transactions.py" and "TransactionManager(" in path.read_text("utf-8")
    )
    assert direct == []
