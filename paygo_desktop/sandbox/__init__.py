"""The offline sandbox: a local chain, the vault and test USDC, funded accounts and a reference provider."""
