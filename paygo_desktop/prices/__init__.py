"""Fiat values from on-chain price feeds (Chainlink's AggregatorV3Interface), read with their age."""
