"""Tokens beyond the built-in list: adding an ERC-20 by its address, and look-alike symbols."""
