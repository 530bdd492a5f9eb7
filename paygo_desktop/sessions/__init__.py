"""Metered sessions, Qt-free: plan a start, pay for it (escrow vouchers one tick ahead, or a Zcash
permission), stop it with a checked receipt, recover what a crash left running, keep the history.

    engine.py        SessionEngine, the conductor: the one entry point for the GUI and the ``session`` command
    planner.py       the plan and the ways to pay (what it learnt is carried into the start)
    plan.py          SessionPlan, FundingOption, StartOptions, SessionError: plain data
    terms.py         SessionTerms: one session's terms, written once
    status.py        SessionStatus and the event kinds (EventKind, SessionEvent)
    payer.py         Payer: what both ways to pay share (the low-funds check, the one epilogue)
    escrow_prepare.py  prepare_escrow: before the row (leftovers, rate, deposit, the provider's cursor, cap)
    escrow_payer.py  EscrowPayer: opens the session on the channel, the voucher loop, the stop and receipt
    start_checks.py  before paying: the catalog's terms in bounds, the rate asked again, a busy provider
    escrow_receipt.py  the escrow receipt checked (vouchers, meter), the end's words, the provider record
    zcash_payer.py   ZcashPayer: opens the session on a permission, follows it, ends it
    escrow_chain.py  EscrowChain: the vault for one account on one network (channel, domain, deposits)
    channels.py      the channel a session pays from, the provider's cursor on it, a deposit
    live.py          LiveSession: a running session as the GUI reads it
    runtime.py       Runtime: what the engine shares with its payers (the history through the store's
                     worker, clocks, clients, events)
    history.py       SessionHistory: the sessions' rows, vouchers and spending; CSV
    recovery.py      reconcile: a session a crash left, settled with its provider
    reneged.py       a provider found holding our voucher one tick ahead above a settled receipt's total at
                     the next start: the difference booked to that session, its receipt broken, the user told
    reports.py       SessionSummary, RecoveryReport: what the user is told
"""
