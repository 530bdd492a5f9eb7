"""The Vendor page's parts: its earnings tables and chart (earnings.py) and its Claim now (claims.py).

The page itself is gui/pages/vendor_page.py."""
