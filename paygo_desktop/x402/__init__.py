"""x402 (HTTP 402 payments, issue 16): the app pays x402 endpoints within the user's per-site limits, through
the official ``x402`` SDK. ``wire`` reads the protocol's headers, ``offers`` chooses among a 402's offers,
``limits`` decides whether a quote may be paid, ``payer`` asks, signs, records and sends (``exact`` and
``upto``), ``signed`` holds what the SDK signed to the quote, ``permit2`` reads and plans the
allowance to Permit2 that ``upto`` draws on, ``settlement`` reads what an ``upto`` settlement moved on
chain."""
