"""Reports over the local store: spending charts and the Home dashboard's figures.

A vendor's earnings are the vendor package's (``vendor.earnings``).
"""
