"""The wallet's own money on chain: balances, escrow channels with providers, and the transactions on them.

Qt-free. ``service.EscrowService`` is the entry point for one account on one network; ``channels`` reads
the account's channels (the synced vault events plus their on-chain state), ``balances`` the account's
ETH and tokens, ``requests`` builds the transactions (``TxRequest``) that move money. Sending and watching
is the chain's ``TransactionManager``; the step-by-step flow around it is ``chain.tx_flow``.
"""
