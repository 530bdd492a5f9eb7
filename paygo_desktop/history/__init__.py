"""Every on-chain movement of an account: synced from the chain, listed with fiat values, exported as CSV."""
