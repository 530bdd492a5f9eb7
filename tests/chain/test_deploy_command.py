"""`paygo-desktop contracts deploy` against anvil, from an account of a real wallet in a data directory: the
canonical contracts, through the deterministic-deployment proxy anvil has from genesis."""

from __future__ import annotations

import json

from paygo_desktop.chain.canonical import PROXY, REGISTRY, VAULT
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


def deploy_args(data, env, tmp_path, *extra):
    return [
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
        *extra,
        "--yes",
    ]


def test_deploy_puts_the_canonical_contracts_there_once_and_remembers_them(env, tmp_path, capsys):
    data, account = make_wallet(tmp_path, env)
    assert account.address == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    code = main(deploy_args(data, env, tmp_path, "--with-test-usdc"))
    out = capsys.readouterr()
    assert code == 0, out.err
    result = json.loads(out.out)
    vault = result["PayGoVault"]["address"]
    assert vault == VAULT.address and result["PayGoRegistry"]["address"] == REGISTRY.address
    assert not result["PayGoVault"]["alreadyDeployed"] and result["PayGoVault"]["txHash"]
    assert env.rpc("eth_getCode", [vault, "latest"]) not in ("0x", "0x0")
    assert result["minWithdrawDelay"] == 15
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
    ctx.close()

    # a second run finds them there: nothing is sent, no password is needed
    nonce = env.rpc("eth_getTransactionCount", [account.address, "latest"])
    (tmp_path / "pw").write_text("not the password\n")
    assert main(deploy_args(data, env, tmp_path)) == 0
    again = capsys.readouterr()
    assert json.loads(again.out)["PayGoVault"] == {"address": vault, "txHash": None, "alreadyDeployed": True}
    assert f"PayGoVault is already deployed at {vault}" in again.err
    assert env.rpc("eth_getTransactionCount", [account.address, "latest"]) == nonce


def test_another_contract_at_the_canonical_address_is_refused(env, tmp_path, capsys):
    data, _ = make_wallet(tmp_path, env)
    usdc_code = env.rpc("eth_getCode", [env.usdc, "latest"])
    env.rpc("anvil_setCode", [VAULT.address, usdc_code])
    assert main(deploy_args(data, env, tmp_path)) == 2
    err = capsys.readouterr().err
    assert f"The contract at {VAULT.address} on chain 31337 is not PayGoVault v1" in err


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
    # no proxy on the chain: nothing can be deployed at the canonical addresses
    env.rpc("anvil_setCode", [PROXY, "0x"])
    assert main([*base, "--network", "sandbox", "--password-file", str(tmp_path / "pw")]) == 2
    assert f"The deterministic-deployment proxy {PROXY} is not on this chain" in capsys.readouterr().err
