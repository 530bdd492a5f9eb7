"""The Zcash page's parts: its New permission form (permission_form.py).

The page itself is gui/pages/zcash_page.py."""
