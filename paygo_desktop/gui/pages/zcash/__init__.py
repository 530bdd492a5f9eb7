"""The Zcash page's parts (the page itself is ``pages/zcash_page.py``)."""
