"""`paygo-desktop contracts deploy` against anvil, from an account of a real wallet in a data directory."""

from __future__ import annotations

import json

from paygo_desktop.cli import main
from paygo_desktop.context import AppContext
from paygo_desktop.paths import DataDir
from paygo_desktop.store.deployments import DeploymentRepository
from paygo_desktop.wallet import KdfParams, Wallet

PHRASE = "test test test test test test test test test test test junk"


def make_wallet(tmp_path, env):
    data = DataDir(tmp_path / "data").ensure()
    ctx = AppContext.open(data)
    wallet = Wallet(data.wallet_dir, ctx.accounts, kdf=KdfParams(n=2**12))
    account = wallet.create_from_mnemonic(PHRASE, "correct horse", label="Deployer")
    env.rpc("anvil_setBalance", [account.address, hex(10**20)])
    ctx.close()
    (tmp_path / "pw").write_text("correct horse\n")
    return data, account


def test_deploy_prints_addresses_and_remembers_them(env, tmp_path, capsys):
    data, account = make_wallet(tmp_path, env)
    assert account.address == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    code = main(
        [
            "--data-dir",
            str(data.root),
            "contracts",
            "deploy",
            "--network",
            "sandbox",
            "--rpc-url",
            env.url,
            "--password-file",
            str(tmp_path / "pw"),
            "--with-test-usdc",
            "--yes",
        ]
    )
    out = capsys.readouterr()
    assert code == 0, out.err
    result = json.loads(out.out)
    vault = result["PayGoVault"]["address"]
    assert env.rpc("eth_getCode", [vault, "latest"]) not in ("0x", "0x0")
    assert result["minWithdrawDelay"] == 5
    ctx = AppContext.open(data)
    assert DeploymentRepository(ctx.store).address("sandbox", 31337, "PayGoVault") == vault
    assert (
        DeploymentRepository(ctx.store).address("sandbox", 31337, "TestUSDC") == result["TestUSDC"]["address"]
    )
    # the app now knows where the vault and the test USDC are on the sandbox
    sandbox = ctx.networks.get("sandbox")
    assert ctx.vault_address(sandbox) == vault
    assert [(t.symbol, t.address) for t in ctx.known_tokens(sandbox)] == [
        ("USDC", result["TestUSDC"]["address"])
    ]
    assert "network fee about" in out.err


def test_deploy_errors_are_one_clear_line(env, tmp_path, capsys):
    data, _ = make_wallet(tmp_path, env)
    (tmp_path / "bad").write_text("wrong password\n")
    base = ["--data-dir", str(data.root), "contracts", "deploy", "--rpc-url", env.url, "--yes"]
    assert main([*base, "--network", "sandbox", "--password-file", str(tmp_path / "bad")]) == 2
    assert "password" in capsys.readouterr().err.lower()
    assert main([*base, "--network", "nowhere", "--password-file", str(tmp_path / "pw")]) == 2
    assert "No network called 'nowhere'" in capsys.readouterr().err
    # Base's chain id is 8453; anvil answers 31337: nothing is sent
    assert main([*base, "--network", "base", "--password-file", str(tmp_path / "pw")]) == 2
    assert "not 8453" in capsys.readouterr().err
    # the vault bounds every channel's delay to 30 days: a longer minimum is refused before anything is sent
    too_long = ["--min-withdraw-delay", str(30 * 24 * 3600 + 1)]
    assert main([*base, "--network", "sandbox", "--password-file", str(tmp_path / "pw"), *too_long]) == 2
    assert "at most 30 days" in capsys.readouterr().err
