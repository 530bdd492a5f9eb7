"""Receipts as proof: one self-contained file per finished session, checked offline and against the chain."""
