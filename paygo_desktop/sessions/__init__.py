"""Metered sessions, Qt-free: plan a start, run the voucher loop or a Zcash permission, stop with a signed
receipt, recover what a crash left running, keep the history.

``SessionEngine`` (engine.py) is the one entry point for the GUI and the headless ``session`` command.
"""
